"""Video-level scores as the paper tests (Sect. 5): 25 frames equally spaced in time, 10 inputs
from each (four corners and the centre, each also flipped), the softmax averaged over all 250.
"""
from __future__ import annotations

import numpy as np

from models.input.sampling import frame_range
from models.input.volumes import rgb_input, stored_fields, volume_of

FRAMES_PER_VIDEO = 25  # Sect. 5: "a fixed number of frames (25 in our experiments)"


def sampled_frames(flow_count: int, stacking: str, new_length: int, stream: str,
                count: int = FRAMES_PER_VIDEO) -> list[int]:
    """`count` frames with equal temporal spacing over those whose input exists."""
    first, last = frame_range(flow_count, stacking, new_length, stream)
    if last < first:
        raise ValueError(f"a video with {flow_count} flows is too short for L = {new_length}")
    return [int(round(t)) for t in np.linspace(first, last, count)]


def ten_crops(height: int, width: int, size: int) -> list[tuple[int, int, bool]]:
    """(y0, x0, flip): the four corners and the centre, each as is and flipped."""
    corners = [(0, 0), (0, width - size), (height - size, 0), (height - size, width - size),
               ((height - size) // 2, (width - size) // 2)]
    return [(y, x, flip) for flip in (False, True) for y, x in corners]


def video_inputs(reader, video: str, flow_count: int, config, size: int,
                 mean: np.ndarray | None = None) -> np.ndarray:
    """All 250 inputs of one video: [frames x 10, C, size, size] float32; `mean`: the spatial
    net's mean image, if its run was given one (else the mean pixel)."""
    frames = sampled_frames(flow_count, config.stacking, config.new_length, config.stream)
    inputs = []
    for t in frames:
        if config.stream == "spatial":
            images = [reader.frame(video, t + k) for k in range(config.new_length)]
            crops = ten_crops(*images[0].shape[:2], size)
            inputs += [rgb_input(images, y, x, size, flip, None, mean) for y, x, flip in crops]
            continue
        fields, shape = stored_fields(reader, video, t, config.stacking, config.new_length)
        inputs += [volume_of(fields, config.stacking, y, x, size, config.mean_subtraction, flip)
                   for y, x, flip in ten_crops(*shape, size)]
    return np.stack(inputs)


def video_score(net, inputs: np.ndarray, output: str, batch: int, done=None) -> np.ndarray:
    """The mean softmax over a video's inputs, run through the deploy net in batches;
    `done(n)`, if given, is told of each batch of n inputs (a progress bar)."""
    total = None
    for start in range(0, len(inputs), batch):
        chunk = inputs[start:start + batch]
        net.blobs["data"].reshape(*chunk.shape)
        net.blobs["data"].data[...] = chunk
        probs = net.forward()[output].sum(0)
        total = probs if total is None else total + probs
        if done is not None:
            done(len(chunk))
    return (total / len(inputs)).astype(np.float32)


def own_classes(scores: np.ndarray, count: int) -> np.ndarray:
    """Scores over the dataset's own `count` classes: Table 2's borrowed classes (after them in
    the head) dropped, the rest renormalised."""
    if scores.shape[-1] == count:
        return scores
    own = scores[..., :count]
    return own / own.sum(-1, keepdims=True)
