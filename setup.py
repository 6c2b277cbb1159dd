"""Package layout for setuptools.

training/, export/ and firmware_bridge/ sit at the top of the repository but install inside the one
``mujo_edge`` namespace, the way ExecuTorch installs ``exir/`` as ``executorch.exir``. pyproject.toml holds
all other metadata; this file only computes the package list for that mapping.
"""

from setuptools import find_packages, setup

MAPPED_FOLDERS = {
    "mujo_edge.training": "training",
    "mujo_edge.export": "export",
    "mujo_edge.firmware_bridge": "firmware_bridge",
}

#: Folders of data files inside packages (no __init__.py): listed as packages, as setuptools asks of data
#: folders; pyproject.toml's package-data says which of their files install.
DATA_FOLDERS = ["mujo_edge.firmware_bridge.profiles.mujo.c", "mujo_edge.training.assets.joint_space"]

packages = find_packages(include=["mujo_edge", "mujo_edge.*"])
for namespace, folder in MAPPED_FOLDERS.items():
    packages += [namespace] + [f"{namespace}.{sub}" for sub in find_packages(folder)]
packages += DATA_FOLDERS

setup(packages=packages, package_dir={"mujo_edge": "mujo_edge", **MAPPED_FOLDERS})
