"""BlazePose (MediaPipe Pose, full model) on single frames: detector, region of interest, landmarks, tracking.

The two models are MediaPipe's ``pose_detection.tflite`` (224x224 person detector, 2254 SSD anchors, 4 alignment
keypoints) and ``pose_landmark_full.tflite`` (256x256 crop -> 39 image landmarks x 5 and 39 metric world
landmarks x 3, a pose-presence flag). They run under ``ai-edge-litert``; everything around them is written here
from MediaPipe's published graph configuration (``pose_detection_cpu.pbtxt``, ``pose_detection_to_roi.pbtxt``,
``pose_landmark_by_roi_cpu.pbtxt`` and its post-processing, ``pose_landmarks_to_roi.pbtxt``):

1. Detector input: the frame letterboxed into 224x224 (aspect kept, zero border), values in [-1, 1].
2. Anchors (``SsdAnchorsCalculator``): 5 layers, strides 8, 16, 32, 32, 32, scales 0.1484375..0.75, aspect 1,
   fixed anchor size, offset 0.5. Box decoding (``TensorsToDetectionsCalculator``): 12 values per anchor
   (x, y, w, h then 4 keypoints x, y; x first), divided by 224 and added to the anchor centre; score = sigmoid of
   the clipped (+-100) logit.
3. Weighted non-max suppression (IoU 0.3): the best detection's cluster, its boxes and keypoints averaged by score.
4. Detection -> region of interest (``AlignmentPointsRectsCalculator``, keypoints 0 = mid-hip, 1 = the point that
   sets size and rotation): a square centred on the mid-hip, side 2 x the keypoint distance, rotated so the body
   axis points up (target angle 90 degrees), then scaled by 1.25 (``RectTransformationCalculator``, square long).
5. Landmark input: the rotated square sampled into 256x256 (bilinear, edge pixels repeated), values in [0, 1].
   Outputs: landmarks in crop pixels (x, y, z, visibility, presence; sigmoid on the last two), pose flag,
   world landmarks in metres. Image landmarks are projected back through the rotated square
   (``LandmarkProjectionCalculator``); world landmarks are rotated by the square's rotation
   (``WorldLandmarkProjectionCalculator``), so both are in the camera's orientation (x right, y down).
6. Tracking (``pose_landmarks_to_roi.pbtxt``): the next frame's square comes from the two auxiliary landmarks
   (33 = body centre, 34 = size and rotation point) the same way as from a detection. The detector runs only
   when there is no track or the pose flag falls below 0.5.

Differences from MediaPipe, on purpose: when tracking loses the person the detector runs again on the same frame
(MediaPipe waits for the next); the heatmap refinement of the image landmarks and MediaPipe's landmark filter
are left out (the 3D joints are smoothed later, per joint, by :mod:`~mujo_edge.training.video.skeleton`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mujo_edge.errors import DataError, MissingDependencyError

log = logging.getLogger(__name__)

#: Detector input side, pixels.
DETECTOR_SIZE = 224
#: Landmark model input side, pixels.
LANDMARK_SIZE = 256
#: SSD anchor layers of the detector (pose_detection_cpu.pbtxt).
ANCHOR_STRIDES: tuple[int, ...] = (8, 16, 32, 32, 32)
#: Anchors the detector scores.
N_ANCHORS = 2254
#: Lowest detection score kept (MediaPipe Pose's default min_detection_confidence).
MIN_DETECTION_SCORE = 0.5
#: Intersection over union above which two detections are one (NonMaxSuppressionCalculator).
NMS_IOU = 0.3
#: Pose-presence flag below which the track is lost (ThresholdingCalculator).
MIN_PRESENCE = 0.5
#: Region of interest = alignment square x this (RectTransformationCalculator, scale_x = scale_y).
ROI_SCALE = 1.25
#: Raw score logits are clipped to +- this before the sigmoid.
SCORE_CLIP = 100.0
#: Landmarks the model predicts: 33 body landmarks + 2 auxiliary (ROI) + 4 unused.
N_MODEL_LANDMARKS = 39
#: Body landmarks (MediaPipe Pose topology: 0 nose ... 32 right foot index).
N_LANDMARKS = 33


@dataclass(frozen=True)
class Roi:
    """A rotated square region of a frame, in pixels.

    Attributes:
        cx_px, cy_px: centre, pixels (x right, y down).
        size_px: side length, pixels.
        rotation_rad: rotation of the square's up axis, radians (MediaPipe's convention; 0 = upright).
    """

    cx_px: float
    cy_px: float
    size_px: float
    rotation_rad: float

    def to_image(self, uv: np.ndarray) -> np.ndarray:
        """Points (..., 2) in square coordinates (0..1 across, 0..1 down) -> frame pixels (..., 2)."""
        a = uv[..., 0] - 0.5
        b = uv[..., 1] - 0.5
        c, s = math.cos(self.rotation_rad), math.sin(self.rotation_rad)
        x = self.cx_px + self.size_px * (c * a - s * b)
        y = self.cy_px + self.size_px * (s * a + c * b)
        return np.stack([x, y], axis=-1)


@dataclass(frozen=True)
class Detection:
    """One person found by the detector, in frame pixels.

    Attributes:
        score: detection confidence 0..1.
        box_px: (4,) x_min, y_min, x_max, y_max of the face box (what the detector's box covers).
        keypoints_px: (4, 2) mid-hip, full-body size/rotation point, mid-shoulder, upper-body point.
    """

    score: float
    box_px: np.ndarray
    keypoints_px: np.ndarray


@dataclass(frozen=True)
class PoseFrame:
    """The pose in one frame.

    Attributes:
        presence: the landmark model's pose flag 0..1.
        image_px: (33, 3) image landmarks: x, y in frame pixels, z (relative depth) in pixels of the square.
        visibility: (33,) 0..1.
        world_m: (33, 3) metric world landmarks, metres, origin between the hips, x right, y down (camera
            orientation), z away from the camera.
        roi: the square the landmarks were read from.
        detected: whether the detector ran on this frame (rather than the track from the previous one).
    """

    presence: float
    image_px: np.ndarray
    visibility: np.ndarray
    world_m: np.ndarray
    roi: Roi
    detected: bool


def ssd_anchors(size: int = DETECTOR_SIZE, strides: tuple[int, ...] = ANCHOR_STRIDES) -> np.ndarray:
    """Anchor centres (N, 2) in 0..1 of the detector input, in the model's output order.

    Consecutive layers with the same stride share one feature map; each layer puts 2 anchors on every cell
    (aspect ratio 1 and the interpolated scale, both of unit size since ``fixed_anchor_size``), cells in
    row-major order.
    """
    centres = []
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        per_cell = 2 * (j - i)
        fm = math.ceil(size / strides[i])
        yy, xx = np.meshgrid((np.arange(fm) + 0.5) / fm, (np.arange(fm) + 0.5) / fm, indexing="ij")
        cells = np.stack([xx.ravel(), yy.ravel()], axis=-1)
        centres.append(np.repeat(cells, per_cell, axis=0))
        i = j
    return np.concatenate(centres).astype(np.float32)


def decode_detections(
    raw_boxes: np.ndarray,
    raw_scores: np.ndarray,
    anchors: np.ndarray,
    min_score: float = MIN_DETECTION_SCORE,
    size: int = DETECTOR_SIZE,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode the detector's tensors.

    Args:
        raw_boxes: (N, 12) per anchor: x, y, w, h offsets then 4 keypoints (x, y), in input pixels.
        raw_scores: (N,) or (N, 1) score logits.
        anchors: (N, 2) from :func:`ssd_anchors`.
        min_score: keep detections scoring at least this.
        size: detector input side (the pixel scale of the offsets).
    Returns:
        ``(scores (M,), boxes (M, 4) x_min, y_min, x_max, y_max, keypoints (M, 4, 2))``, coordinates in 0..1 of
        the detector input, sorted by descending score.
    """
    raw_boxes = np.asarray(raw_boxes, dtype=np.float64).reshape(anchors.shape[0], -1)
    logits = np.clip(np.asarray(raw_scores, dtype=np.float64).reshape(-1), -SCORE_CLIP, SCORE_CLIP)
    scores = 1.0 / (1.0 + np.exp(-logits))
    keep = np.flatnonzero(scores >= min_score)
    keep = keep[np.argsort(-scores[keep], kind="stable")]
    r = raw_boxes[keep] / size
    a = anchors[keep].astype(np.float64)
    cx, cy = r[:, 0] + a[:, 0], r[:, 1] + a[:, 1]
    w, h = r[:, 2], r[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)
    kps = r[:, 4:12].reshape(-1, 4, 2) + a[:, None, :]
    return scores[keep], boxes, kps


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-12)


def weighted_nms(
    scores: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray, iou: float = NMS_IOU
) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """MediaPipe's weighted non-max suppression.

    Detections sorted by descending score; each cluster (the best remaining one and all others overlapping it
    by more than ``iou``) becomes one detection with the best score and the score-weighted mean box and
    keypoints. Returns ``[(score, box (4,), keypoints (K, 2)), ...]``, best first.
    """
    remaining = np.arange(len(scores))
    out = []
    while remaining.size:
        top = remaining[0]
        overlap = _iou(boxes[top], boxes[remaining]) > iou
        overlap[0] = True  # a degenerate (zero-area) box still forms its own cluster
        cluster = remaining[overlap]
        w = scores[cluster] / scores[cluster].sum()
        box = (boxes[cluster] * w[:, None]).sum(0)
        kps = (keypoints[cluster] * w[:, None, None]).sum(0)
        out.append((float(scores[top]), box, kps))
        remaining = remaining[~overlap]
    return out


def alignment_roi(center_px: np.ndarray, scale_point_px: np.ndarray, scale: float = ROI_SCALE) -> Roi:
    """The region of interest from two alignment points in frame pixels.

    Side = 2 x their distance x ``scale``; rotation such that the vector centre -> scale point points up in the
    square (target angle 90 degrees; image y points down, so its sign is flipped first).
    """
    dx, dy = float(scale_point_px[0] - center_px[0]), float(scale_point_px[1] - center_px[1])
    size = 2.0 * math.hypot(dx, dy) * scale
    rot = math.pi / 2 - math.atan2(-dy, dx)
    rot = rot - 2 * math.pi * math.floor((rot + math.pi) / (2 * math.pi))
    return Roi(float(center_px[0]), float(center_px[1]), size, rot)


def sample_square(image: np.ndarray, roi: Roi, out_size: int, border: str = "replicate") -> np.ndarray:
    """Bilinear sample of a rotated square of ``image`` (H, W, 3) uint8 into (out_size, out_size, 3) float32 0..1.

    ``border``: "replicate" repeats edge pixels (the landmark crop), "zero" fills black (the letterbox).
    """
    h, w = image.shape[:2]
    g = (np.arange(out_size, dtype=np.float32) + 0.5) / out_size
    uu, vv = np.meshgrid(g, g)
    xy = roi.to_image(np.stack([uu, vv], axis=-1)) - 0.5  # pixel centres
    x, y = xy[..., 0], xy[..., 1]
    x0 = np.floor(x).astype(np.int64)
    y0 = np.floor(y).astype(np.int64)
    fx = (x - x0)[..., None].astype(np.float32)
    fy = (y - y0)[..., None].astype(np.float32)
    xs0, xs1 = np.clip(x0, 0, w - 1), np.clip(x0 + 1, 0, w - 1)
    ys0, ys1 = np.clip(y0, 0, h - 1), np.clip(y0 + 1, 0, h - 1)
    img = image.astype(np.float32, copy=False)
    top = img[ys0, xs0] * (1 - fx) + img[ys0, xs1] * fx
    bot = img[ys1, xs0] * (1 - fx) + img[ys1, xs1] * fx
    out = (top * (1 - fy) + bot * fy) / 255.0
    if border == "zero":
        inside = (x >= -0.5) & (x <= w - 0.5) & (y >= -0.5) & (y <= h - 0.5)
        out *= inside[..., None]
    return out


def _interpreter(path: Path, threads: int):  # type: ignore[no-untyped-def]
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as e:
        raise MissingDependencyError("Running the pose models", "runtime", "ai-edge-litert") from e
    try:
        it = Interpreter(model_path=str(path), num_threads=threads)
        it.allocate_tensors()
    except (ValueError, RuntimeError) as e:
        raise DataError(
            f"{path} is not a usable TFLite model ({e}); delete it and run `make video-assets` (or "
            "`python -m mujo_edge.training.video.assets`) to extract it again"
        ) from e
    return it


class PoseEstimator:
    """BlazePose full on a stream of frames of one video (keeps the track between calls).

    Args:
        detector_path, landmark_path: the two ``.tflite`` files (see :mod:`~mujo_edge.training.video.assets`).
        threads: interpreter threads (1 = one CPU core).
    """

    def __init__(self, detector_path: str | Path, landmark_path: str | Path, threads: int = 1) -> None:
        self._det = _interpreter(Path(detector_path), threads)
        self._lmk = _interpreter(Path(landmark_path), threads)
        self._det_in = self._det.get_input_details()[0]["index"]
        outs = {tuple(d["shape"][1:]): d["index"] for d in self._det.get_output_details()}
        self._det_boxes, self._det_scores = outs.get((N_ANCHORS, 12)), outs.get((N_ANCHORS, 1))
        lmk_outs = {tuple(d["shape"][1:]): d["index"] for d in self._lmk.get_output_details()}
        self._lmk_in = self._lmk.get_input_details()[0]["index"]
        self._lmk_image = lmk_outs.get((N_MODEL_LANDMARKS * 5,))
        self._lmk_flag = lmk_outs.get((1,))
        self._lmk_world = lmk_outs.get((N_MODEL_LANDMARKS * 3,))
        if None in (self._det_boxes, self._det_scores, self._lmk_image, self._lmk_flag, self._lmk_world):
            raise DataError(
                "the pose models do not have the outputs of MediaPipe 0.10.21's pose_detection.tflite "
                "(2254x12, 2254x1) and pose_landmark_full.tflite (195, 1, 117); extract them again with "
                "`python -m mujo_edge.training.video.assets`"
            )
        self._anchors = ssd_anchors()
        self._track: Roi | None = None

    def reset(self) -> None:
        """Forget the track (call between videos)."""
        self._track = None

    def detect(self, image: np.ndarray) -> list[Detection]:
        """People in a frame (H, W, 3) uint8 RGB, best first (after weighted NMS)."""
        h, w = image.shape[:2]
        box = Roi(w / 2.0, h / 2.0, float(max(w, h)), 0.0)  # the letterbox: the frame in a centred square
        x = sample_square(image, box, DETECTOR_SIZE, border="zero") * 2.0 - 1.0
        self._det.set_tensor(self._det_in, x[None])
        self._det.invoke()
        raw_boxes = self._det.get_tensor(self._det_boxes)[0]
        raw_scores = self._det.get_tensor(self._det_scores)[0]
        scores, boxes, kps = decode_detections(raw_boxes, raw_scores, self._anchors)
        out = []
        for score, b, k in weighted_nms(scores, boxes, kps):
            corners = box.to_image(b.reshape(2, 2)).reshape(4)
            out.append(Detection(score, corners, box.to_image(k)))
        return out

    def landmarks(self, image: np.ndarray, roi: Roi) -> tuple[float, np.ndarray, np.ndarray]:
        """Run the landmark model on ``roi``: (presence, image landmarks (39, 5) in square units, world (39, 3))."""
        x = sample_square(image, roi, LANDMARK_SIZE, border="replicate")
        self._lmk.set_tensor(self._lmk_in, x[None])
        self._lmk.invoke()
        presence = float(np.asarray(self._lmk.get_tensor(self._lmk_flag)).reshape(-1)[0])
        lm = np.asarray(self._lmk.get_tensor(self._lmk_image), dtype=np.float64).reshape(N_MODEL_LANDMARKS, 5)
        world = np.asarray(self._lmk.get_tensor(self._lmk_world), dtype=np.float64).reshape(
            N_MODEL_LANDMARKS, 3
        )
        lm[:, :3] /= LANDMARK_SIZE
        lm[:, 3:] = 1.0 / (1.0 + np.exp(-lm[:, 3:]))
        return presence, lm, world

    def __call__(self, image: np.ndarray) -> PoseFrame | None:
        """The pose of the most prominent person in a frame (H, W, 3) uint8 RGB, or None if nobody is found."""
        detected = False
        for attempt in range(2):
            if self._track is None:
                found = self.detect(image)
                if not found:
                    return None
                self._track = alignment_roi(found[0].keypoints_px[0], found[0].keypoints_px[1])
                detected = True
            roi = self._track
            presence, lm, world = self.landmarks(image, roi)
            if presence >= MIN_PRESENCE:
                break
            self._track = None
            if detected or attempt == 1:
                return None
        xy = roi.to_image(lm[:, :2])
        image_px = np.column_stack([xy, lm[:, 2] * roi.size_px])
        c, s = math.cos(roi.rotation_rad), math.sin(roi.rotation_rad)
        world_rot = world.copy()
        world_rot[:, 0] = c * world[:, 0] - s * world[:, 1]
        world_rot[:, 1] = s * world[:, 0] + c * world[:, 1]
        self._track = alignment_roi(image_px[33, :2], image_px[34, :2])
        return PoseFrame(
            presence=presence,
            image_px=image_px[:N_LANDMARKS],
            visibility=lm[:N_LANDMARKS, 3],
            world_m=world_rot[:N_LANDMARKS],
            roi=roi,
            detected=detected,
        )
