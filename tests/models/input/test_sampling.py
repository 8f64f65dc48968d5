"""Mini-batch sampling (Sect. 5): uniform over classes, valid frames, multi-task labels, GPUs."""
import numpy as np
import pytest

from models.input.sampling import (TrainVideo, batch_seed, by_class, frame_range, held_out_ids,
                             per_gpu_batch, sample_batch)

# A class with many videos and one with few: sampling must still be uniform over classes.
VIDEOS = (
    [TrainVideo("ucf101", f"A/v{i}", 0, 30) for i in range(40)]
    + [TrainVideo("ucf101", f"B/v{i}", 1, 30) for i in range(2)]
    + [TrainVideo("ucf101", f"C/v{i}", 2, 12) for i in range(10)])


def test_classes_are_drawn_uniformly_whatever_their_video_counts():
    groups = by_class(VIDEOS, ["ucf101"])
    rng = np.random.default_rng(0)
    labels = [s.labels[0] for _ in range(30) for s in sample_batch(groups, ["ucf101"], 256, rng)]
    observed = np.bincount(labels, minlength=3)
    expected = len(labels) / 3
    chi_square = ((observed - expected) ** 2 / expected).sum()
    assert chi_square < 13.8  # the 0.1% critical value of chi-square with 2 degrees of freedom
    # Sampling by video instead would give class A 40/52 of the samples: far outside that.
    assert observed[0] / len(labels) < 0.36


@pytest.mark.parametrize("stacking, first, last", [("flow", 0, 2), ("trajectory", 0, 2),
                                                   ("bidirectional", 5, 7)])
def test_temporal_frames_leave_room_for_the_whole_volume(stacking, first, last):
    assert frame_range(12, stacking, 10) == (first, last)
    video = TrainVideo("ucf101", "C/v0", 2, 12)
    rng = np.random.default_rng(1)
    frames = {s.frame for _ in range(50)
              for s in sample_batch([[video]], ["ucf101"], 64, rng, stacking, 10)}
    assert frames == set(range(first, last + 1))


def test_spatial_samples_any_frame_and_rgb_stacks_leave_room():
    assert frame_range(12, "flow", 1, stream="spatial") == (0, 12)
    assert frame_range(12, "flow", 11, stream="spatial") == (0, 2)


def test_multitask_samples_carry_their_own_label_and_ignore_for_the_other_head():
    videos = [TrainVideo("hmdb51", "brush/x", 3, 20), TrainVideo("ucf101", "A/v0", 7, 20)]
    heads = ["hmdb51", "ucf101"]
    samples = sample_batch(by_class(videos, heads), heads, 200, np.random.default_rng(2))
    by_dataset = {s.video.dataset: s.labels for s in samples}
    assert by_dataset == {"hmdb51": (3, -1), "ucf101": (-1, 7)}
    share = sum(s.video.dataset == "hmdb51" for s in samples) / len(samples)
    assert 0.4 < share < 0.6


def test_batches_are_reproducible_per_rank_and_differ_across_ranks():
    groups = by_class(VIDEOS, ["ucf101"])
    draw = lambda rank, index: [(s.video.id, s.frame) for s in sample_batch(  # noqa: E731
        groups, ["ucf101"], 32, batch_seed(7, rank, index), "flow", 10)]
    assert draw(0, 5) == draw(0, 5)
    assert draw(0, 5) != draw(1, 5) and draw(0, 5) != draw(0, 6)


def test_per_gpu_batch_splits_the_papers_256():
    assert [per_gpu_batch(256, n) for n in (1, 2, 4, 8)] == [256, 128, 64, 32]
    with pytest.raises(ValueError, match="does not split evenly over 3 GPU"):
        per_gpu_batch(256, 3)


def test_the_held_out_slice_is_stable_class_balanced_and_about_a_tenth():
    videos = [TrainVideo("ucf101", f"Class{c}/v_Class{c}_g{g:02d}_c{k:02d}.avi", c, 30)
              for c in range(20) for g in range(25) for k in range(4)]
    held = held_out_ids(videos)
    assert held == held_out_ids(list(reversed(videos)))
    assert len(held) == 20 * 10
    assert {v.label for v in videos if v.id in held} == set(range(20))
    few = [TrainVideo("ucf101", f"A/{i}", 0, 30) for i in range(3)] + \
        [TrainVideo("ucf101", "B/0", 1, 30)]
    assert len(held_out_ids(few)) == 1 and "B/0" not in held_out_ids(few)
