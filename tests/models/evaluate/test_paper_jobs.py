"""The paper's jobs (models/evaluate/paper_jobs.py): every net the report's rows name trained and
scored once, each after what it starts from."""
from pathlib import Path

import pytest

from models.evaluate.paper_jobs import BORROWED, TABLES, paper_jobs
from models.evaluate.tables import PAPER_ROWS

MULTITASK = "multitask_temporal_flow-L10-meansub_scratch_drop0.9"
UNI = "ucf101_temporal_flow-L10-meansub_scratch_drop0.9"


def test_the_whole_paper_is_29_trainings_and_40_scorings_each_once():
    jobs = paper_jobs(borrowed=True)
    names = [t.name for t in jobs.trainings]
    assert len(names) == len(set(names)) == 29
    scored = [s.name for s in jobs.scorings]
    assert len(scored) == len(set(scored)) == 40
    assert jobs.stores == ("ucf101", "hmdb51") and jobs.backward and jobs.left_out == ()
    # Every row of the report with a net of its own has its test scores.
    for table, _, dataset, _, source in PAPER_ROWS:
        if isinstance(source, str):
            assert f"{dataset}/{source}_split1_test" in scored
    # Tables 3-4's chosen spatial net of UCF-101 split 1 is Table 1a's: one run, not two.
    assert names.count("ucf101/ucf101_spatial_lastlayer_drop0.5_split1") == 1
    # Table 4: both streams on three splits of both datasets, test and training videos.
    for d in ("ucf101", "hmdb51"):
        for k in (1, 2, 3):
            for subset in ("test", "train"):
                assert f"{d}/{MULTITASK}_split{k}_{subset}" in scored
                assert f"{d}/{d}_spatial_lastlayer_drop0.5_split{k}_{subset}" in scored


def test_each_run_comes_after_the_run_it_starts_from():
    jobs = paper_jobs(("2",))
    names = [t.name for t in jobs.trainings]
    finetuned = next(t for t in jobs.trainings if "finetune" in t.net)
    assert finetuned.start == "run" and finetuned.after.name == f"ucf101/{UNI}_splitall"
    assert names.index(finetuned.after.name) < names.index(finetuned.name)
    assert f"ucf101/{UNI}_splitall_test" not in [s.name for s in jobs.scorings]  # no test set
    assert jobs.left_out == ("Table 2, + 78 UCF-101 classes: give the UCF-101 classes you "
                             "borrow (one a line) as borrowed_classes",)
    assert BORROWED not in {t.net for t in jobs.trainings}


def test_a_stand_in_replaces_imagenet_by_a_run_trained_first():
    jobs = paper_jobs(("3",), stand_in="ucf101_spatial_scratch_drop0.5")
    first, *rest = jobs.trainings
    assert first.name == "ucf101/ucf101_spatial_scratch_drop0.5_split1"
    spatial = next(t for t in rest if "lastlayer" in t.net)
    assert spatial.start == "run" and spatial.after == first
    assert [t.start for t in paper_jobs(("3",)).trainings].count("imagenet") == 1


def test_only_what_a_table_needs_is_extracted():
    assert paper_jobs(("1a",)).stores == ("ucf101",)
    assert not paper_jobs(("1a",)).backward
    assert paper_jobs(("2",)).stores == ("ucf101", "hmdb51")  # multi-task: both datasets


def test_artifacts_are_named_as_their_owners_name_them():
    jobs = paper_jobs(("1b",))
    t = next(t for t in jobs.trainings if t.net == UNI)
    assert t.last_snapshot(Path("r")) == Path(f"r/ucf101/{UNI}_split1/snapshots/{UNI}_iter_80000"
                                              ".caffemodel")
    assert t.last_snapshot(Path("r"), 6).name == f"{UNI}_iter_6.caffemodel"
    lastlayer = paper_jobs(("1a",)).trainings[4]
    assert lastlayer.last_snapshot(Path("r")).name.endswith("_iter_20000.caffemodel")
    s = next(s for s in jobs.scorings if s.training == t)
    assert s.path(Path("sc")) == Path(f"sc/ucf101/{UNI}_split1_test.h5")


@pytest.mark.parametrize("tables", [(), ("5",), ("1a", "1c")])
def test_unknown_tables_are_refused(tables):
    with pytest.raises(ValueError) as caught:
        paper_jobs(tables)
    assert str(caught.value).endswith(f"give some of {', '.join(TABLES)}.")
