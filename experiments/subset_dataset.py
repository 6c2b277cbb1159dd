"""Write a dataset folder holding only some labels of another (for a bundle that must not know the rest).

    python experiments/subset_dataset.py SRC OUT --labels squats,lunges,... [--exclude]

Windows of the chosen labels are copied with their pose, text and subjects; labels are renumbered in the
order given. ``--exclude`` keeps every label except those listed. Used by experiments/open_set.py (a
bundle with held-out activities) and experiments/make_default_bundle.sh (the default bundle's label set).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from mujo_edge.training.data.format import Dataset, write_dataset


def subset(src: str, out: str, labels: list[str], exclude: bool = False) -> Dataset:
    ds = Dataset.open(src)
    have = ds.labels
    missing = [x for x in labels if x not in have]
    if missing:
        sys.exit(f"{src} has no labels {missing}; it has {have}")
    keep_names = [x for x in have if x not in labels] if exclude else list(labels)
    old = np.asarray([have.index(x) for x in keep_names])
    lab = np.asarray(ds.label)
    idx = np.flatnonzero(np.isin(lab, old))
    remap = np.full(len(have), -1, np.int64)
    remap[old] = np.arange(len(old))
    text = text_id = None
    if ds.text is not None and ds.text_id is not None:
        used = np.unique(np.asarray(ds.text_id)[idx])
        tmap = np.full(len(ds.text), -1, np.int64)
        tmap[used] = np.arange(len(used))
        text, text_id = np.asarray(ds.text)[used], tmap[np.asarray(ds.text_id)[idx]]
    lt = ds.label_text
    return write_dataset(
        out,
        acc=np.asarray(ds.acc)[idx],
        label=remap[lab[idx]],
        subject=np.asarray(ds.subject)[idx],
        recording=np.asarray(ds.recording)[idx],
        start=np.asarray(ds.start)[idx],
        labels=keep_names,
        label_text={k: lt[k] for k in keep_names if k in lt},
        pose=None if ds.pose is None else np.asarray(ds.pose)[idx],
        text=text,
        text_id=text_id,
        name=f"{ds.manifest.get('name', 'dataset')}-subset",
        source=f"subset of {src}: {len(keep_names)} of {len(have)} labels",
        rate_hz=ds.rate_hz,
        overwrite=True,
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("src")
    p.add_argument("out")
    p.add_argument("--labels", required=True, help="comma-separated label names")
    p.add_argument("--exclude", action="store_true", help="keep every label but these")
    a = p.parse_args()
    ds = subset(a.src, a.out, [x.strip() for x in a.labels.split(",") if x.strip()], a.exclude)
    print(f"{a.out}: {len(ds)} windows, {len(ds.labels)} labels: {', '.join(ds.labels)}")


if __name__ == "__main__":
    main()
