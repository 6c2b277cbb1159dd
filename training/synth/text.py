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
    "rest_standing": [
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
    "rest_walking": [
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

# --- the motion library (everyday, locomotion, sports, more gym) ------------------------------------
_LIBRARY_NAMES: dict[str, list[str]] = {
    "walking_slow": ["Walking Slowly", "Slow Walk", "Strolling", "Leisurely Walk"],
    "walking": ["Walking", "Walk", "Brisk Walk", "Walking at a Normal Pace"],
    "walking_fast": ["Walking Fast", "Power Walking", "Fast Walk", "Speed Walking"],
    "walking_uphill": ["Walking Uphill", "Uphill Walk", "Incline Walking", "Hill Walking"],
    "jogging": ["Jogging", "Easy Jog", "Light Jogging", "Slow Run"],
    "running": ["Running", "Run", "Steady Run", "Tempo Run"],
    "sprinting": ["Sprinting", "Sprint", "All-out Sprint", "Sprint Intervals"],
    "stairs_up": ["Walking Upstairs", "Climbing Stairs", "Stair Climb", "Going Up the Stairs"],
    "stairs_down": ["Walking Downstairs", "Descending Stairs", "Going Down the Stairs", "Stairs Down"],
    "jumping": ["Jumping", "Jumping in Place", "Vertical Jumps", "Two-Foot Hops"],
    "skipping_rope": ["Skipping Rope", "Jump Rope", "Rope Skipping", "Jumping Rope"],
    "sitting": ["Sitting", "Sitting on a Chair", "Seated", "Sitting Still"],
    "standing": ["Standing", "Standing Still", "Standing Upright", "Stand"],
    "lying_back": ["Lying on the Back", "Lying Supine", "Lying Down Face Up", "Resting on Your Back"],
    "lying_front": ["Lying on the Front", "Lying Prone", "Lying Face Down", "Lying on Your Stomach"],
    "lying_side": ["Lying on the Side", "Side Lying", "Lying on One Side", "Resting on Your Side"],
    "kneeling": ["Kneeling", "Kneeling Upright", "Tall Kneeling", "On Your Knees"],
    "sit_to_stand": ["Sit to Stand", "Standing Up from a Chair", "Chair Rise", "Getting Up"],
    "stand_to_sit": ["Stand to Sit", "Sitting Down on a Chair", "Sitting Down", "Lowering into a Chair"],
    "lie_to_sit": ["Lie to Sit", "Sitting Up from Lying", "Getting Up from Bed", "Sitting Up"],
    "sit_to_lie": ["Sit to Lie", "Lying Down from Sitting", "Lying Down", "Getting into Bed"],
    "bending": ["Bending Down", "Picking Something Up", "Bending to the Floor", "Stooping"],
    "eating": ["Eating", "Eating a Meal", "Eating with a Fork", "Having Lunch"],
    "drinking": ["Drinking", "Drinking from a Cup", "Sipping a Drink", "Having a Glass of Water"],
    "brushing_teeth": ["Brushing Teeth", "Toothbrushing", "Brushing Your Teeth", "Dental Hygiene"],
    "typing": ["Typing", "Typing on a Keyboard", "Working at a Computer", "Keyboard Typing"],
    "writing": ["Writing", "Writing by Hand", "Handwriting", "Writing with a Pen"],
    "washing_hands": ["Washing Hands", "Hand Washing", "Scrubbing Hands", "Washing Your Hands"],
    "folding_laundry": ["Folding Laundry", "Folding Clothes", "Laundry Folding", "Folding Towels"],
    "vacuuming": ["Vacuuming", "Vacuum Cleaning", "Hoovering", "Vacuuming the Floor"],
    "stirring": ["Stirring", "Stirring a Pot", "Cooking and Stirring", "Mixing with a Spoon"],
    "carrying_bag": ["Carrying a Bag", "Walking with a Bag", "Carrying Groceries", "Walking with Shopping"],
    "phone_call": ["Phone Call", "Talking on the Phone", "Phone to the Ear", "Making a Call"],
    "cycling": ["Cycling", "Riding a Bike", "Stationary Bike", "Bicycling"],
    "rowing_machine": ["Rowing Machine", "Indoor Rowing", "Rowing Ergometer", "Erg Rowing"],
    "elliptical": ["Elliptical Trainer", "Elliptical", "Cross Trainer", "Elliptical Machine"],
    "badminton_stroke": ["Badminton", "Badminton Smash", "Badminton Overhead Clear", "Playing Badminton"],
    "tennis_forehand": [
        "Tennis Forehand",
        "Forehand Drive",
        "Forehand Groundstroke",
        "Playing Tennis Forehands",
    ],
    "tennis_backhand": ["Tennis Backhand", "Backhand Drive", "Backhand Groundstroke", "One-Handed Backhand"],
    "golf_swing": ["Golf Swing", "Golf Drive", "Swinging a Golf Club", "Golf Practice Swings"],
    "boxing": ["Boxing", "Shadow Boxing", "Punching", "Jab Cross Combos"],
    "basketball_dribbling": [
        "Basketball Dribbling",
        "Dribbling a Basketball",
        "Ball Handling",
        "Dribble Drill",
    ],
    "yoga_warrior": ["Warrior Pose", "Yoga Warrior Two", "Warrior II", "Virabhadrasana"],
    "yoga_tree": ["Tree Pose", "Yoga Tree", "Vrksasana", "Balancing Tree Pose"],
    "yoga_downward_dog": ["Downward Dog", "Downward Facing Dog", "Down Dog", "Adho Mukha Svanasana"],
    "stretching_hamstring": [
        "Hamstring Stretch",
        "Standing Hamstring Stretch",
        "Toe Touch Stretch",
        "Forward Fold",
    ],
    "stretching_arm": ["Cross-Body Shoulder Stretch", "Arm Stretch", "Shoulder Stretch", "Cross Arm Stretch"],
    "stretching_side": ["Side Stretch", "Overhead Side Bend", "Standing Side Stretch", "Lateral Stretch"],
    "plank": ["Plank", "Forearm Plank", "Plank Hold", "Front Plank"],
    "kettlebell_swings": [
        "Kettlebell Swings",
        "KB Swing",
        "Russian Kettlebell Swing",
        "Two-Hand Kettlebell Swing",
    ],
    "jump_squats": ["Jump Squats", "Squat Jumps", "Plyometric Squats", "Jumping Squats"],
    "glute_bridges": ["Glute Bridges", "Hip Bridge", "Bridge", "Glute Bridge Raises"],
    "bench_press": ["Dumbbell Bench Press", "DB Bench Press", "Chest Press", "Flat Bench Press"],
    "russian_twists": ["Russian Twists", "Seated Russian Twist", "Oblique Twists", "Weighted Russian Twists"],
    "crunches": ["Crunches", "Ab Crunches", "Abdominal Crunch", "Basic Crunch"],
}

_LIBRARY_DESCRIPTIONS: dict[str, list[str]] = {
    "walking_slow": [
        "Walk slowly and easily, small relaxed steps, arms hanging loosely.",
        "A gentle stroll at a comfortable, unhurried pace.",
    ],
    "walking": [
        "Walk at your normal pace, arms swinging naturally at your sides.",
        "Steady everyday walking, heel to toe, about two steps a second.",
    ],
    "walking_fast": [
        "Walk as fast as you can without running, pump your arms with bent elbows.",
        "Brisk power walking with long quick strides and a strong arm swing.",
    ],
    "walking_uphill": [
        "Walk up a slope, lean slightly forward and push through each step.",
        "Incline walking: shorter steps, body tilted into the hill.",
    ],
    "jogging": [
        "Jog at an easy conversational pace, light steps, relaxed bent arms.",
        "A slow run where you could still talk comfortably.",
    ],
    "running": [
        "Run at a steady pace, land under your hips, arms bent at ninety degrees.",
        "Keep a quick cadence and a tall posture while running.",
    ],
    "sprinting": [
        "Sprint as fast as you can, drive your knees and pump your arms hard.",
        "Short all-out sprints with powerful strides.",
    ],
    "stairs_up": [
        "Climb the stairs one step at a time, lifting each knee onto the next step.",
        "Walk up a flight of stairs at a steady pace.",
    ],
    "stairs_down": [
        "Walk down the stairs carefully, one step at a time, knees soft on landing.",
        "Descend a staircase at a steady pace.",
    ],
    "jumping": [
        "Jump straight up with both feet, swing your arms up and land softly with bent knees.",
        "Repeated vertical jumps in place.",
    ],
    "skipping_rope": [
        "Turn the rope with your wrists and hop lightly over it on the balls of your feet.",
        "Small quick jumps over a turning rope, elbows close to your body.",
    ],
    "sitting": [
        "Sit on a chair with your feet on the floor and your hands resting on your thighs.",
        "Sitting quietly, back against the chair.",
    ],
    "standing": [
        "Stand still and upright with your arms relaxed at your sides.",
        "Standing in one place, weight on both feet.",
    ],
    "lying_back": [
        "Lie flat on your back with your arms beside your body and relax.",
        "Resting face up on a bed or a mat.",
    ],
    "lying_front": [
        "Lie face down on your stomach with your arms by your sides.",
        "Prone lying on a mat, head turned or resting on your hands.",
    ],
    "lying_side": [
        "Lie on one side with your knees slightly bent and your arm in front of you.",
        "Side lying position, as when sleeping on your side.",
    ],
    "kneeling": [
        "Kneel upright on the floor with your hips over your knees.",
        "Tall kneeling, trunk upright and arms relaxed.",
    ],
    "sit_to_stand": [
        "From a seated position, lean forward and push through your legs to stand up.",
        "Rise from the chair to standing without using your hands.",
    ],
    "stand_to_sit": [
        "From standing, bend your knees and hips and lower yourself onto the chair.",
        "Sit down slowly and with control onto a chair.",
    ],
    "lie_to_sit": [
        "From lying on your back, curl up and come up to a sitting position.",
        "Sit up from lying down.",
    ],
    "sit_to_lie": [
        "From sitting, lower your back down until you are lying flat.",
        "Lie back down from a sitting position.",
    ],
    "bending": [
        "Bend forward at the hips and knees and reach down to pick something up from the floor.",
        "Stoop down, grab an object, and stand back up.",
    ],
    "eating": [
        "Seated at a table, bring food to your mouth with a fork or spoon, then lower it to the plate.",
        "Eating a meal with cutlery, a bite every few seconds.",
    ],
    "drinking": [
        "Lift the cup to your mouth, take a sip, and put it back down.",
        "Drinking a glass of water slowly, sip by sip.",
    ],
    "brushing_teeth": [
        "Brush your teeth with small quick back and forth strokes.",
        "Hold the toothbrush and scrub each side of your teeth for two minutes.",
    ],
    "typing": [
        "Type on a keyboard with both hands, wrists resting near the desk.",
        "Working at a computer, fingers tapping the keys.",
    ],
    "writing": [
        "Write on paper with a pen, small quick movements of the hand.",
        "Handwriting notes at a desk.",
    ],
    "washing_hands": [
        "Rub your hands together under running water, scrub palms and backs.",
        "Wash your hands with soap for twenty seconds.",
    ],
    "folding_laundry": [
        "Pick up a shirt, shake it out, and fold it on the table.",
        "Folding clothes and towels into neat piles.",
    ],
    "vacuuming": [
        "Push the vacuum cleaner forward and pull it back in long strokes across the floor.",
        "Vacuuming a room, stepping forward as you go.",
    ],
    "stirring": ["Stir the pot in circles with a wooden spoon.", "Cooking at the stove, stirring steadily."],
    "carrying_bag": [
        "Walk while carrying a heavy bag in one hand, that arm hanging straight.",
        "Carrying shopping bags home on foot.",
    ],
    "phone_call": [
        "Hold the phone to your ear with one hand and talk.",
        "Standing and talking on the phone.",
    ],
    "cycling": [
        "Pedal at a steady cadence, hands on the handlebars, back leaning forward.",
        "Riding a bicycle or a stationary bike.",
    ],
    "rowing_machine": [
        "Drive with your legs, lean back, and pull the handle to your lower ribs, then return.",
        "Steady strokes on the rowing machine: legs, body, arms, then arms, body, legs.",
    ],
    "elliptical": [
        "Push and pull the handles while your feet move in smooth ovals on the pedals.",
        "A steady workout on the elliptical cross trainer.",
    ],
    "badminton_stroke": [
        "Turn sideways, take the racket back behind your head, and hit the shuttle overhead.",
        "Overhead clears and smashes in a badminton rally.",
    ],
    "tennis_forehand": [
        "Turn your shoulders, take the racket back, and swing forward and across your body.",
        "Hitting forehand groundstrokes from the baseline.",
    ],
    "tennis_backhand": [
        "Turn your shoulders the other way and swing the racket across from your non-dominant side.",
        "Backhand groundstrokes in a rally.",
    ],
    "golf_swing": [
        "Take the club back slowly, then swing down through the ball and follow through.",
        "Full golf swings on the driving range.",
    ],
    "boxing": [
        "Guard up, throw quick jabs and crosses, and bring your fists back to your face.",
        "Shadow boxing: punch combinations with a bounce in your stance.",
    ],
    "basketball_dribbling": [
        "Bounce the basketball with one hand, pushing it down with your fingertips.",
        "Stationary dribbling drills, knees bent, eyes up.",
    ],
    "yoga_warrior": [
        "Front knee bent, back leg straight, arms stretched out to the sides at shoulder height.",
        "Hold warrior two and breathe slowly.",
    ],
    "yoga_tree": [
        "Stand on one leg with the other foot on your inner thigh and hands together at your chest.",
        "Balance in tree pose and breathe.",
    ],
    "yoga_downward_dog": [
        "Hands and feet on the mat, hips high, body in an inverted V.",
        "Hold downward dog and press your heels towards the floor.",
    ],
    "stretching_hamstring": [
        "Hinge forward at the hips with straight legs and reach towards your toes.",
        "Hold a standing forward fold to stretch the back of your legs.",
    ],
    "stretching_arm": [
        "Pull one arm across your chest with the other hand and hold.",
        "Cross-body stretch for the back of the shoulder.",
    ],
    "stretching_side": [
        "Reach one arm overhead and lean to the opposite side, hold, then switch.",
        "Standing side bend to stretch your waist.",
    ],
    "plank": [
        "Hold your body in a straight line on your forearms and toes, core tight.",
        "Plank hold, do not let the hips sag.",
    ],
    "kettlebell_swings": [
        "Hinge at the hips and swing the kettlebell between your legs, then drive it up to chest height.",
        "Explosive hip hinge swings with a kettlebell in both hands.",
    ],
    "jump_squats": [
        "Squat down, then jump up explosively and land softly back into the squat.",
        "Plyometric squats with a jump at the top.",
    ],
    "glute_bridges": [
        "Lie on your back with knees bent, lift your hips up, squeeze, and lower.",
        "Hip bridges off the floor.",
    ],
    "bench_press": [
        "Lying on a bench, press the dumbbells up over your chest and lower them slowly.",
        "Chest press with dumbbells on a flat bench.",
    ],
    "russian_twists": [
        "Sit leaning back with feet raised and twist your torso from side to side.",
        "Rotate your shoulders left and right while balancing on your hips.",
    ],
    "crunches": [
        "Lie on your back, knees bent, and curl your shoulders off the floor, then lower.",
        "Short abdominal crunches, hands behind your head.",
    ],
}

NAMES.update(_LIBRARY_NAMES)
DESCRIPTIONS.update(_LIBRARY_DESCRIPTIONS)

_TITLE_TEMPLATES = ("{n}", "{n} x 12", "Round 2: {n}", "3x10 {n}", "{n} - 30 sec", "Set 1: {n} 15 reps")
#: Titles of held or continuous activities (everyday life, locomotion, sports), which nobody counts in reps.
_BOUT_TEMPLATES = (
    "{n}",
    "{n} for 5 minutes",
    "Part 2: {n}",
    "{n} - 1 min",
    "Now: {n}",
    "Daily activity: {n}",
)


def _titles(names: list[str], bouts: bool = False) -> list[str]:
    out = list(names)
    first = names[0]
    if bouts:
        out += [t.format(n=first) for t in _BOUT_TEMPLATES[1:]]
        out += [f"Next: {names[1]}", f"{names[-1]} (2 minutes)"]
        return out
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
            bouts = ACTIVITIES[act].continuous or ACTIVITIES[act].family in ("posture", "transition", "daily")
            items = [("title", t) for t in _titles(NAMES[act], bouts)] + [
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
