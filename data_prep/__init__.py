"""Video datasets, frames, optical flow and their LMDB/HDF5 store."""
