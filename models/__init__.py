"""CNN-M-2048 net builders (NetSpec) and solver definitions."""
