"""Activity texts: chapter-style titles and instructor-style descriptions, as fitness videos carry them.

The paper pairs each window with the (normalized) chapter label of its video segment. Here every activity has
several names, titles built from them ("Bodyweight Squat x 12", "Round 2: Jumping Jacks") and a few longer
descriptions; every non-activity kind (standing, walking, transitions...) has its own. All strings pass through
:func:`mujo_edge.training.text.normalize_text` (lowercase, abbreviations expanded, symbols removed).
"""

from __future__ import annotations

from mujo_edge.training.text import normalize_text

from .motion import ACTIVITIES, NON_ACTIVITY

#: Names people give each activity (the first is the canonical one).
NAMES: dict[str, list[str]] = {
    "squats": ["Squats", "Bodyweight Squat", "Air Squats", "Deep Squat"],
    "lunges": ["Lunges", "Forward Lunge", "Alternating Lunges", "Walking Lunge in place"],
    "bicep_curls": ["Bicep Curls", "DB Bicep Curl", "Dumbbell Curls", "Standing Biceps Curl"],
    "situps": ["Sit-ups", "Situps", "Full Sit Up", "Abs: Sit-ups"],
    "pushups": ["Push-ups", "Pushups", "Press Ups", "Chest: Push Up"],
    "tricep_extensions": ["Tricep Extensions", "Overhead Triceps Extension", "DB Overhead Extension"],
    "dumbbell_rows": ["Dumbbell Rows", "Bent Over DB Row", "One Arm Dumbbell Row", "Single Arm Row"],
    "jumping_jacks": ["Jumping Jacks", "Star Jumps", "Jumping Jack Warm Up"],
    "dumbbell_shoulder_press": ["Dumbbell Shoulder Press", "DB Overhead Press", "Seated Shoulder Press"],
    "lateral_shoulder_raises": ["Lateral Shoulder Raises", "DB Lateral Raise", "Side Raises", "Lat Raises"],
    "PEN": ["Pendulum", "Codman Pendulum", "Shoulder Pendulum Swings", "Pendulum Exercise"],
    "ABD": ["Shoulder Abduction", "Arm Abduction", "Side Arm Raise to Overhead", "ABD"],
    "FEL": ["Forward Elevation", "Shoulder Flexion", "Forward Arm Raise", "FEL"],
    "IR": ["Internal Rotation", "Shoulder Internal Rotation", "Band Internal Rotation", "IR"],
    "ER": ["External Rotation", "Shoulder External Rotation", "Band External Rotation", "ER"],
    "TRAP": ["Trapezius Extension", "Trap Extension", "Shoulder Extension Pulls", "TRAP"],
    "ROW": ["Upright Row", "Band Upright Row", "Shoulder Upright Row", "ROW"],
    "high_knees": ["High Knees", "High Knee Run", "Running in Place with High Knees"],
    "arm_circles": ["Arm Circles", "Big Arm Circles", "Shoulder Circles"],
    "mountain_climbers": ["Mountain Climbers", "Mountain Climber", "Plank Knee Drives"],
    "deadlifts": ["Deadlifts", "DB Romanian Deadlift", "Dumbbell Deadlift"],
    "burpees": ["Burpees", "Burpee", "Full Burpees"],
}

#: Instructor-style descriptions.
DESCRIPTIONS: dict[str, list[str]] = {
    "squats": [
        "Feet shoulder width apart, sit your hips back and down until your thighs are parallel, then drive up.",
        "Keep your chest up and your knees over your toes as you squat down and stand back up.",
        "Lower into a squat with your arms reaching forward for balance, then push through your heels.",
    ],
    "lunges": [
        "Step forward and lower your back knee towards the floor, then push back to standing and switch legs.",
        "Alternate legs: big step forward, both knees at ninety degrees, torso upright.",
        "Lunge down on one leg, come back up, then lunge on the other leg.",
    ],
    "bicep_curls": [
        "Hold the dumbbells with palms facing forward, keep your elbows at your sides and curl the weights up.",
        "Curl the dumbbells to your shoulders, squeeze, and lower them slowly all the way down.",
        "Elbows pinned to your ribs, bend at the elbow to lift the weights, then extend your arms.",
    ],
    "situps": [
        "Lie on your back with knees bent, arms crossed on your chest, and curl all the way up to sitting.",
        "Sit up until your chest reaches your knees, then roll back down with control.",
        "Feet on the floor, lift your torso up off the mat and lower it back down.",
    ],
    "pushups": [
        "Hands under your shoulders, body in a straight plank, lower your chest to the floor and press back up.",
        "Keep your core tight and bend your elbows to bring your chest down, then push the floor away.",
        "From a high plank, lower down and push up, keeping your hips in line.",
    ],
    "tricep_extensions": [
        "Hold one dumbbell overhead with both hands, lower it behind your head by bending the elbows, then extend.",
        "Keep your upper arms next to your ears and straighten your elbows to lift the weight overhead.",
        "Bend at the elbows to drop the weight behind your neck and press it back up.",
    ],
    "dumbbell_rows": [
        "Hinge forward with a flat back, let the dumbbell hang, and pull it to your hip with your elbow close.",
        "Support yourself with one hand and row the dumbbell up towards your ribs, then lower it.",
        "Bent over, drive your elbow back to row the weight, squeeze your shoulder blade, and release.",
    ],
    "jumping_jacks": [
        "Jump your feet out while raising your arms overhead, then jump back together with arms down.",
        "Quick jumps: arms and legs out to the sides, then back in, keep a steady rhythm.",
        "Light on your feet, clap your hands overhead as your feet jump apart.",
    ],
    "dumbbell_shoulder_press": [
        "Start with the dumbbells at shoulder height, palms forward, and press them straight overhead.",
        "Press the weights up until your arms are straight, then lower them back to your shoulders.",
        "Elbows out to the sides, push the dumbbells overhead and bring them down with control.",
    ],
    "lateral_shoulder_raises": [
        "With a slight bend in the elbows, raise the dumbbells out to the sides up to shoulder height.",
        "Lift your arms sideways until they are parallel to the floor, pause, and lower slowly.",
        "Raise the weights out to your sides, leading with your elbows, then lower them down.",
    ],
    "PEN": [
        "Lean forward with your good hand on a table and let the affected arm hang, swinging it in small circles.",
        "Relax the shoulder and let the arm swing gently like a pendulum, forward and back and in circles.",
        "Bend at the waist, let your arm dangle and use your body to make the arm swing in slow circles.",
    ],
    "ABD": [
        "Raise your straight arm out to the side and up over your head, thumb pointing up, then lower it.",
        "Lift the arm sideways away from your body as high as comfortable and bring it back down slowly.",
        "Shoulder abduction: move your arm out to the side in the plane of your body, up and down.",
    ],
    "FEL": [
        "Raise your straight arm forward and up over your head as far as comfortable, then lower it.",
        "Lift the arm in front of you up towards the ceiling with your thumb up, and bring it back down.",
        "Forward elevation: keep the elbow straight and raise the arm in front of your body.",
    ],
    "IR": [
        "Elbow bent at ninety degrees and tucked at your side, rotate your forearm in towards your stomach.",
        "Hold the band with your elbow at your side and pull your hand across your belly, then return.",
        "Keep the upper arm still and turn the forearm inwards like closing a door, then back out.",
    ],
    "ER": [
        "Elbow bent at ninety degrees and tucked at your side, rotate your forearm outwards away from your body.",
        "Hold the band with your elbow at your side and move your hand out to the side, then return.",
        "Keep the upper arm still and turn the forearm outwards like opening a door, then back in.",
    ],
    "TRAP": [
        "Arm straight down at your side, pull it back behind you while squeezing the shoulder blade, then relax.",
        "Draw the shoulder back and down and extend the arm backwards against the band in short pulls.",
        "Trapezius extension: small quick pulls of the straight arm backwards, shoulder blades together.",
    ],
    "ROW": [
        "Pull the band or weight straight up along your body to chest height, elbow leading, then lower.",
        "Upright row: lift your hand up towards your chin with the elbow going out and up, then down.",
        "Raise your elbow high as you pull your hand up in front of your body, then return slowly.",
    ],
    "high_knees": [
        "Run in place driving your knees up to hip height, pumping your arms.",
        "Fast feet: alternate bringing each knee up high as quickly as you can.",
        "Jog on the spot with high knees and bent arms swinging.",
    ],
    "arm_circles": [
        "Arms straight out to the sides, make small then bigger circles with your hands.",
        "Hold your arms at shoulder height and circle them forwards, then backwards.",
        "Keep the arms extended and draw circles in the air from the shoulders.",
    ],
    "mountain_climbers": [
        "From a high plank, drive one knee towards your chest, switch legs quickly, keep the hips low.",
        "Hands planted under your shoulders, run your knees in towards your chest one after the other.",
        "Plank position, alternate knee drives as fast as you can while your hands stay on the floor.",
    ],
    "deadlifts": [
        "Hinge at the hips with a flat back, lower the dumbbells along your legs, then stand up tall.",
        "Push your hips back and let the weights slide down to your shins, then drive your hips forward.",
        "Soft knees, hinge forward and lift the dumbbells back up by squeezing your glutes.",
    ],
    "burpees": [
        "Squat down, hands on the floor, jump your feet back to a plank, jump them in and leap up.",
        "Drop to the floor, kick back to a plank, bring your feet in and jump with your arms overhead.",
        "Full burpee: squat, plank, squat, jump, and repeat at a steady pace.",
    ],
    # non-activity kinds
    "standing": [
        "Standing still",
        "Get ready",
        "Stand and breathe between sets.",
        "Take a moment and stand tall before the next exercise.",
    ],
    "shifting": [
        "Shift your weight and shake out your legs",
        "Recover",
        "Shake it out and get ready for the next set.",
        "Rest on your feet, shifting from one leg to the other.",
    ],
    "walking": [
        "Walk it off",
        "Walking between sets",
        "Walk around and catch your breath before the next round.",
        "Go grab your weights and walk back to your spot.",
    ],
    "hands_on_hips": [
        "Rest",
        "Rest with hands on hips",
        "Put your hands on your hips and breathe.",
        "Take a short break, hands on your hips, breathe deeply.",
    ],
    "arms_crossed": [
        "Break",
        "Short break",
        "Relax for a few seconds with your arms crossed.",
        "Rest and listen to the next instructions.",
    ],
    "transition": [
        "Transition",
        "Get into position",
        "Switch to the next exercise.",
        "Get into the starting position for the next move.",
    ],
}

_TITLE_TEMPLATES = ("{n}", "{n} x 12", "Round 2: {n}", "3x10 {n}", "{n} - 30 sec", "Set 1: {n} 15 reps")


def _titles(names: list[str]) -> list[str]:
    out = list(names)
    first = names[0]
    out += [t.format(n=first) for t in _TITLE_TEMPLATES[1:]]
    out += [f"Exercise 4: {names[1]}", f"{names[-1]} (10 reps)"]
    return out


def activity_texts(kinds: list[str] | None = None) -> list[dict[str, str]]:
    """Every text of the corpus, normalized and de-duplicated per activity.

    Args:
        kinds: activity names (exercises and non-activity kinds, plus "transition"); all of them by default.
    Returns:
        a list of ``{"label", "activity", "kind", "text"}``: ``label`` is the dataset label (non-activity
        kinds share :data:`NON_ACTIVITY`), ``activity`` the generator's activity, ``kind`` "title" or
        "description".
    """
    kinds = [*ACTIVITIES, "transition"] if kinds is None else kinds
    out: list[dict[str, str]] = []
    for act in kinds:
        is_rest = act == "transition" or ACTIVITIES[act].group == "rest"
        label = NON_ACTIVITY if is_rest else act
        if is_rest:
            items = [("title" if len(d.split()) <= 6 else "description", d) for d in DESCRIPTIONS[act]]
        else:
            items = [("title", t) for t in _titles(NAMES[act])] + [
                ("description", d) for d in DESCRIPTIONS[act]
            ]
        seen: set[str] = set()
        for kind, raw in items:
            text = normalize_text(raw)
            if text and text not in seen:
                seen.add(text)
                out.append({"label": label, "activity": act, "kind": kind, "text": text})
    return out


def label_text(texts: list[dict[str, str]]) -> dict[str, list[str]]:
    """Per dataset label, its texts in order (titles first as listed, then descriptions)."""
    out: dict[str, list[str]] = {}
    for t in texts:
        out.setdefault(t["label"], []).append(t["text"])
    return out
