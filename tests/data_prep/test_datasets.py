"""The dataset readers on split files written here in the official formats, traps included."""
import logging

import pytest

from data_prep.datasets import DatasetError, read_dataset

UCF_CLASSES = ["ApplyEyeMakeup", "HandstandPushups", "YoYo"]


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"video")


def make_ucf101(root):
    """Three classes, two groups; HandstandPushups' files say HandStandPushups, as in UCF-101."""
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_text(
        "".join(f"{i} {name}\n" for i, name in enumerate(UCF_CLASSES, 1)))
    for k in (1, 2, 3):
        train, test = [], []
        for i, cls in enumerate(UCF_CLASSES, 1):
            file_cls = "HandStandPushups" if cls == "HandstandPushups" else cls
            for group in (1, 2):
                clip = f"{cls}/v_{file_cls}_g0{group}_c01.avi"
                touch(root / "UCF-101" / clip)
                (test if group == k % 2 + 1 else train).append((clip, i))
        (lists / f"trainlist0{k}.txt").write_text("".join(f"{c} {i}\r\n" for c, i in train))
        (lists / f"testlist0{k}.txt").write_text("".join(f"{c}\r\n" for c, _ in test))
    return root


def make_hmdb51(root):
    splits = root / "testTrainMulti_7030_splits"
    splits.mkdir(parents=True)
    for cls in ("brush_hair", "cartwheel"):
        for n in range(4):
            touch(root / "hmdb51" / cls / f"{cls}_clip{n}.avi")
        for k in (1, 2, 3):
            tags = {1: "1 1 2 0", 2: "2 1 1 0", 3: "1 2 0 1"}[k].split()
            (splits / f"{cls}_test_split{k}.txt").write_text(
                "".join(f"{cls}_clip{n}.avi {tag} \n" for n, tag in enumerate(tags)))
    return root


def test_ucf101_reads_the_official_format_and_matches_names_case_insensitively(tmp_path, caplog):
    with caplog.at_level(logging.INFO):
        dataset = read_dataset("ucf101", make_ucf101(tmp_path))
    assert dataset.classes == UCF_CLASSES
    assert len(dataset.videos) == 6
    split1 = dataset.split(1)
    assert [v.id for v in split1["test"]] == [
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01.avi",
        "HandstandPushups/v_HandStandPushups_g02_c01.avi", "YoYo/v_YoYo_g02_c01.avi"]
    assert [v.label for v in split1["train"]] == [0, 1, 2]
    video = dataset.videos["HandstandPushups/v_HandStandPushups_g01_c01.avi"]
    assert (video.class_name, video.label) == ("HandstandPushups", 1)
    assert video.path == tmp_path / "UCF-101/HandstandPushups/v_HandStandPushups_g01_c01.avi"


def test_ucf101_folder_case_differing_from_classind_is_matched_with_a_log_line(tmp_path, caplog):
    root = make_ucf101(tmp_path)
    (root / "UCF-101/HandstandPushups").rename(root / "UCF-101/HandStandPushups")
    lists = root / "ucfTrainTestlist"
    for f in lists.glob("*list0*.txt"):
        f.write_text(f.read_text().replace("HandstandPushups/", "HandStandPushups/"))
    with caplog.at_level(logging.INFO):
        dataset = read_dataset("ucf101", root)
    assert dataset.videos["HandStandPushups/v_HandStandPushups_g01_c01.avi"].label == 1
    assert "class folder HandStandPushups matched to classInd.txt's HandstandPushups" in caplog.text


def test_hmdb51_tags_make_train_test_and_unused(tmp_path):
    dataset = read_dataset("hmdb51", make_hmdb51(tmp_path))
    assert dataset.classes == ["brush_hair", "cartwheel"]
    split1 = dataset.split(1)
    assert [v.id for v in split1["train"]] == [
        "brush_hair/brush_hair_clip0.avi", "brush_hair/brush_hair_clip1.avi",
        "cartwheel/cartwheel_clip0.avi", "cartwheel/cartwheel_clip1.avi"]
    assert [v.id for v in split1["test"]] == ["brush_hair/brush_hair_clip2.avi",
                                              "cartwheel/cartwheel_clip2.avi"]
    assert [v.label for v in split1["test"]] == [0, 1]
    assert len(dataset.split(3)["test"]) == 2 and len(dataset.split(3)["train"]) == 4


def test_a_missing_video_stops_or_is_listed_and_skipped(tmp_path):
    root = make_ucf101(tmp_path)
    (root / "UCF-101/YoYo/v_YoYo_g01_c01.avi").unlink()
    with pytest.raises(DatasetError, match=r"YoYo/v_YoYo_g01_c01.avi is listed in the split "
                                           r"files but not on disk.*--allow-missing"):
        read_dataset("ucf101", root)
    dataset = read_dataset("ucf101", root, allow_missing=True)
    assert dataset.missing == ["YoYo/v_YoYo_g01_c01.avi"]
    assert len(dataset.videos) == 5


def test_missing_split_file_unknown_class_and_duplicates_are_clear_errors(tmp_path):
    root = make_ucf101(tmp_path / "a")
    (root / "ucfTrainTestlist/testlist02.txt").unlink()
    with pytest.raises(DatasetError, match=r"split file .*testlist02.txt is missing; unpack "
                                           r"UCF101TrainTestSplits"):
        read_dataset("ucf101", root)
    root = make_ucf101(tmp_path / "b")
    with open(root / "ucfTrainTestlist/trainlist01.txt", "a") as f:
        f.write("Juggling/v_Juggling_g01_c01.avi 4\n")
    with pytest.raises(DatasetError, match="in class Juggling, which .*classInd.txt does not list"):
        read_dataset("ucf101", root)
    root = make_hmdb51(tmp_path / "c")
    path = root / "testTrainMulti_7030_splits/cartwheel_test_split2.txt"
    path.write_text(path.read_text() + "cartwheel_clip0.avi 1\n")
    with pytest.raises(DatasetError, match="cartwheel_test_split2.txt lists cartwheel_clip0.avi twice"):
        read_dataset("hmdb51", root)
    with pytest.raises(DatasetError, match="dataset folder .*nowhere does not exist"):
        read_dataset("hmdb51", tmp_path / "nowhere")


@pytest.mark.parametrize("dataset, file, line, message", [
    ("ucf101", "ucfTrainTestlist/classInd.txt", "4YoYo\n",
     "classInd.txt, line 4: '4YoYo' is not '<index> <class name>'"),
    ("ucf101", "ucfTrainTestlist/classInd.txt", "four Juggling\n",
     "classInd.txt, line 4: 'four Juggling' does not start with a class index"),
    ("ucf101", "ucfTrainTestlist/trainlist01.txt", "YoYo/v_YoYo_g01_c01.avi 3 extra\n",
     "trainlist01.txt, line 4: 'YoYo/v_YoYo_g01_c01.avi 3 extra' is not "
     "'<Class/video.avi> [<label>]'"),
    ("hmdb51", "testTrainMulti_7030_splits/cartwheel_test_split1.txt", "cartwheel_clip9.avi\n",
     "cartwheel_test_split1.txt, line 5: 'cartwheel_clip9.avi' is not '<clip.avi> <0|1|2>'"),
])
def test_a_malformed_split_file_line_names_its_file_and_line(tmp_path, dataset, file, line,
                                                             message):
    root = (make_ucf101 if dataset == "ucf101" else make_hmdb51)(tmp_path / dataset)
    with open(root / file, "a") as f:
        f.write(line)
    with pytest.raises(DatasetError) as refused:
        read_dataset(dataset, root)
    assert message in str(refused.value)
    assert str(refused.value).startswith(str(root / file))
    assert str(refused.value).endswith("restore the file from the official archive.")


def test_a_video_in_both_the_train_and_the_test_list_is_refused(tmp_path):
    root = make_ucf101(tmp_path)
    lists = root / "ucfTrainTestlist"
    test = (lists / "testlist01.txt").read_text()
    first = test.split()[0]
    with open(lists / "trainlist01.txt", "a") as f:
        f.write(f"{first} 1\r\n")
    with pytest.raises(DatasetError) as error:
        read_dataset("ucf101", root)
    assert str(error.value) == (
        f"{lists / 'trainlist01.txt'} and testlist01.txt both list {first} (1 such): a video is "
        "trained on or tested on, not both; restore the files from the official archive.")


@pytest.mark.parametrize("line", ["2 ..", "2 a/b", "2 ."])
def test_a_class_name_that_would_leave_the_dataset_folder_is_refused(tmp_path, line):
    root = make_ucf101(tmp_path)
    class_file = root / "ucfTrainTestlist" / "classInd.txt"
    class_file.write_text(f"1 ApplyEyeMakeup\n{line}\n3 YoYo\n")
    with pytest.raises(DatasetError, match=r"classInd.txt, line 2: .* is not a folder name"):
        read_dataset("ucf101", root)


def test_a_listed_path_outside_the_video_folder_is_refused(tmp_path):
    root = make_hmdb51(tmp_path)
    split = root / "testTrainMulti_7030_splits" / "cartwheel_test_split1.txt"
    split.write_text(split.read_text() + "../../etc/passwd 1\n")
    with pytest.raises(DatasetError, match=r"list 'cartwheel/../../etc/passwd', which is not "
                                           r"<class>/<video> inside"):
        read_dataset("hmdb51", root)


def test_a_byte_order_mark_and_a_missing_class_are_worded_as_what_they_are(tmp_path):
    root = make_ucf101(tmp_path)
    class_file = root / "ucfTrainTestlist" / "classInd.txt"
    class_file.write_bytes(b"\xef\xbb\xbf" + class_file.read_bytes())
    assert read_dataset("ucf101", root).classes == UCF_CLASSES
    class_file.write_text("1 ApplyEyeMakeup\n2 HandstandPushups\n4 YoYo\n")
    with pytest.raises(DatasetError) as error:
        read_dataset("ucf101", root)
    assert str(error.value) == (f"{class_file}: class 3 is missing (line 3 is class 4 YoYo); "
                                "restore the file from the official archive.")
