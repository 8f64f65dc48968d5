"""The frame and flow stores: JPEGs in LMDB, one transaction per video, and an HDF5 index.
This package is their one owner: `layout` names the files and keys, `lmdb_store` writes and
reads an LMDB, `readers` decodes frames and flow, `settings` keeps a store to one dataset and
one set of settings, `index` writes and reads index.h5, `space` checks room and holds the
writer's lock; what the rest of the project uses is imported from the package.

Layout of a dataset's output folder (`data/{dataset}/` by default):

    frames.lmdb          {video}/img/{i:05d}     JPEG of frame i (BGR), i = 0 .. N-1
                         {video}/meta            JSON: frame count, size, source file, sha256
    flow-{method}.lmdb   {video}/x/{i:05d}       JPEG of d^x of forward flow i (frame i -> i+1)
                         {video}/y/{i:05d}       JPEG of d^y of forward flow i, i = 0 .. N-2
                         {video}/bx/{i:05d}      backward flow i (frame i+1 -> i), if computed
                         {video}/by/{i:05d}
                         {video}/meta            JSON: counts, per-field ranges, method, params
    both                 settings                JSON: the extraction settings the store was made
                                                 with (frames: short side, JPEG quality; flow:
                                                 also method, parameters, bound, backward)
    index.h5             every stored video: class, label, splits, counts, ranges, method
    failures.tsv         videos that could not be stored, with the reason

A video's records and its `meta` are written in one LMDB transaction, so a video is either
wholly in a store or not at all; `meta` is written last in it and marks the video done. A store
holds one set of settings: a run asking for other ones is refused (`agree_settings`), one asking
for more of a kind the store can add (backward flow) adds it to the videos that lack it.
"""
from __future__ import annotations

from data_prep.store.layout import (DATASET, FRAMES, INDEX, META, REAL_STORES, SETTINGS,
                                    SYNTHETIC_STORES, default_store, flow_keys, flow_meta,
                                    flow_path, frame_key, frame_meta, frames_path,
                                    stored_methods)
from data_prep.store.errors import CorruptRecord, DiskFull, StoreError
from data_prep.store.space import MIN_FREE, require_space, writing
from data_prep.store.lmdb_store import INITIAL_MAP_SIZE, Store, decoded
from data_prep.store.readers import FlowReader, FrameReader
from data_prep.store.settings import (ADDITIVE, agree_settings, claim_dataset, index_dataset,
                                      inferred_settings, require_dataset, stored_settings)
from data_prep.store.index import (IndexedVideos, index_classes, read_index, write_flow_index,
                                   write_index)
