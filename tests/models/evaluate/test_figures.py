"""The report's figures (models/evaluate/figures.py)."""
import cv2
import numpy as np

from models.evaluate.figures import draw_filters


def test_first_layer_filters_draw_one_column_a_filter(tmp_path):
    weights = np.random.default_rng(0).standard_normal((6, 4, 7, 7)).astype(np.float32)
    path = draw_filters(weights, tmp_path / "f.png")
    height, width = cv2.imread(str(path)).shape[:2]
    assert width > height  # 6 filters across, 4 channels down
