"""The videos a store is made from: UCF-101 and HMDB-51 as shipped, with their official split
files (`official`), the embedded synthetic datasets in the same layout (`synthetic`), and real
clips cut into a small dataset for the recipe's checks (`real_clips`)."""
from __future__ import annotations

from data_prep.datasets.official import (READERS, SPLITS, Dataset, DatasetError, Video,
                                         read_dataset)
