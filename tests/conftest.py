"""Shared test set-up: quiet Caffe's glog before pycaffe is first imported."""
import os

# glog reads this when libcaffe loads; 2 keeps errors and fatal messages only.
os.environ.setdefault("GLOG_minloglevel", "2")
