"""Late fusion by averaging on score files written here with known answers (the SVM, the
refusals and tools/fuse_scores.py: tests/tools/test_fuse_scores.py)."""
import numpy as np

from models.evaluate.fusion import fuse
from models.evaluate.score_file import read_scores


def test_averaging_corrects_each_streams_unconfident_mistakes(tmp_path, score_writer):
    labels = np.array([0, 1, 2, 0])
    ids = [f"v{i}" for i in range(4)]
    # Spatial is confidently right on v0, v1 and unsure-wrong on v2, v3; temporal the reverse.
    spatial = np.array([[.9, .05, .05], [.05, .9, .05], [.4, .35, .25], [.3, .4, .3]])
    temporal = np.array([[.3, .4, .3], [.4, .35, .25], [.05, .05, .9], [.9, .05, .05]])
    result = fuse(read_scores(score_writer(tmp_path / "s.h5", spatial, labels, ids, "spatial")),
                  read_scores(score_writer(tmp_path / "t.h5", temporal, labels, ids, "temporal")))
    assert (result["spatial"], result["temporal"], result["average"]) == (0.5, 0.5, 1.0)
    assert result["mean_class_accuracy"]["average"] == 1.0


def test_fusion_names_the_nets_it_fused(tmp_path, score_writer):
    labels, ids = np.array([0, 1, 2]), ["v0", "v1", "v2"]
    scores = np.eye(3) * 0.8 + 0.1
    files = [score_writer(tmp_path / f"{stream}.h5", scores, labels, ids, stream)
             for stream in ("spatial", "temporal")]
    result = fuse(*(read_scores(path) for path in files))
    assert result["nets"] == {"spatial": "ucf101_spatial_net", "temporal": "ucf101_temporal_net"}
    assert result["average"] == 1.0
