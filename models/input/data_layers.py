"""The Python data layers of the train/val nets: `SpatialDataLayer` and `TemporalDataLayer`.

They only wire Caffe to `models.input.batches`: parameters arrive as JSON in param_str, batches are
made ahead by worker processes (`models.input.prefetch`), and each training process (one per GPU)
draws its own share through its solver rank. In the TRAIN phase they serve the split's training
videos; in the TEST phase a held-out slice of them (validation during training).
"""
from __future__ import annotations

import caffe

from models.input.batches import BatchMaker, parse_params
from models.input.prefetch import Prefetcher


class _DataLayer(caffe.Layer):
    stream = None

    def setup(self, bottom, top):
        params = parse_params(self.param_str, self.stream)
        train = self.phase == caffe.TRAIN
        if len(top) != 1 + len(params.datasets):
            raise ValueError(f"{type(self).__name__} has {len(top)} tops; it needs data and one "
                             f"label per dataset {params.datasets}")
        self.maker = BatchMaker(params, train, rank=caffe.solver_rank())
        if train:
            self.prefetcher = Prefetcher(self.maker, params.workers, params.queue_size,
                                         first_index=params.start_batch)
        else:  # validation: few batches, made inline, the same ones at every validation
            self.prefetcher = Prefetcher(self.maker, 0, cycle=params.held_out_batches)

    def reshape(self, bottom, top):
        data_shape, label_shape = self.maker.shapes
        top[0].reshape(*data_shape)
        for i in range(1, len(top)):  # pycaffe's blob vector does not slice
            top[i].reshape(label_shape[1])

    def forward(self, bottom, top):
        data, labels = self.prefetcher.next()
        top[0].data[...] = data
        for head in range(len(top) - 1):
            top[head + 1].data[...] = labels[head]

    def backward(self, top, propagate_down, bottom):
        pass


class SpatialDataLayer(_DataLayer):
    stream = "spatial"


class TemporalDataLayer(_DataLayer):
    stream = "temporal"
