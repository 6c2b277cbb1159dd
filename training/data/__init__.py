"""Datasets: the on-disk window format, importers and splits."""

from mujo_edge.training.data.format import DATASET_SCHEMA_VERSION, Dataset, write_dataset

__all__ = ["DATASET_SCHEMA_VERSION", "Dataset", "write_dataset"]
