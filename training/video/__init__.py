"""Video -> 3D pose -> virtual IMU -> dataset."""
