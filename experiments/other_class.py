"""Add an ``other`` class to a bundle's training data: windows of activities outside its labels (outlier
exposure, Hendrycks et al. 2019), so the model learns where the rest of human motion lies.

    python experiments/other_class.py KNOWN OTHER OUT [--label other] [--subject-offset 1000000]

KNOWN: a dataset holding only the bundle's labels (experiments/subset_dataset.py); OTHER: a corpus of other
activities (``mujo-edge data synth --activities ...``), every window of which (rests excepted) becomes the
``other`` class. Its subjects are renumbered (+ ``--subject-offset``) so they never collide with KNOWN's and
stay out of any validation or test subjects chosen among KNOWN's. The activities used here must stay out of
the open-set evaluation (experiments/open_set.py --unknown), which then measures unseen activities only.
"""

from __future__ import annotations

import argparse

import numpy as np

from mujo_edge.training.data.format import Dataset, write_dataset

#: The corpus's rest label: standing and walking between sets, not an activity of its own.
REST = "non_activity"
OTHER_TEXT = ["some other activity", "an activity outside the label set"]


def combine(known: str, other: str, out: str, label: str = "other", offset: int = 1_000_000) -> Dataset:
    k, o = Dataset.open(known), Dataset.open(other)
    if label in k.labels:
        raise SystemExit(f"{known} already has a label {label!r}")
    ol = np.asarray(o.label)
    keep = np.flatnonzero(ol != (o.labels.index(REST) if REST in o.labels else -1))
    labels = [*k.labels, label]
    acc = np.concatenate([np.asarray(k.acc), np.asarray(o.acc)[keep]])
    lab = np.concatenate([np.asarray(k.label), np.full(keep.size, len(k.labels), np.int64)])
    subj = np.concatenate([np.asarray(k.subject), np.asarray(o.subject)[keep] + offset])
    rec = np.concatenate(
        [np.asarray(k.recording), np.asarray(o.recording)[keep] + int(np.max(k.recording)) + 1]
    )
    start = np.concatenate([np.asarray(k.start), np.asarray(o.start)[keep]])
    pose = None
    if k.pose is not None and o.pose is not None:
        pose = np.concatenate([np.asarray(k.pose), np.asarray(o.pose)[keep]])
    lt = dict(k.label_text)
    lt[label] = OTHER_TEXT
    return write_dataset(
        out,
        acc=acc,
        label=lab,
        subject=subj,
        recording=rec,
        start=start,
        labels=labels,
        label_text=lt,
        pose=pose,
        name=f"{k.manifest.get('name', 'dataset')}-with-{label}",
        source=f"{known} + every non-rest window of {other} as {label!r} ({keep.size} windows, "
        f"{len(o.labels) - (REST in o.labels)} activities)",
        rate_hz=k.rate_hz,
        overwrite=True,
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("known")
    p.add_argument("other")
    p.add_argument("out")
    p.add_argument("--label", default="other")
    p.add_argument("--subject-offset", type=int, default=1_000_000)
    a = p.parse_args()
    ds = combine(a.known, a.other, a.out, a.label, a.subject_offset)
    n = np.bincount(np.asarray(ds.label), minlength=len(ds.labels))
    print(f"{a.out}: {len(ds)} windows, {len(ds.labels)} labels; {a.label}: {n[-1]} windows")


if __name__ == "__main__":
    main()
