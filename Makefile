# Two-stream ConvNets (Simonyan & Zisserman, NIPS 2014) in BVLC Caffe.
# Every target only calls a script or a tool; the work lives in tools/ and the Python packages.
# `make help` prints the "## " lines below, each target's own description, in this order.
#
## Two-stream ConvNets (Simonyan & Zisserman, NIPS 2014) in BVLC Caffe. Targets:
##
## ARGS: further flags for the tool a target runs (e.g. ARGS="--runs /scratch/runs").
## Variables: PYTHON (the Python the venv is made from: 3.11 or newer, default python3), VENV
## (default .venv; give a conda env's prefix to build into it instead), CUDA=1 (CUDA build of
## Caffe), CUDA_ARCH_BIN, CAFFE_SRC (your own Caffe tree), CAFFE_CACHE (build cache), CAFFE_JOBS
## (compile jobs), PYTEST_ARGS, SETUP=0 (skip the set-up: the environment is already there).
##

PYTHON ?= python3
VENV ?= .venv
CUDA ?= 0
PYTEST_ARGS ?=
DATASET ?= ucf101
METHOD ?= brox
SPLIT ?= 1
SUBSET ?= test
SYNTHETIC ?= data/synthetic
ROOT ?= $(SYNTHETIC)/$(DATASET)
# Extraction flags, passed on only when set.
EXTRACT = $(VENV)/bin/python tools/extract.py --dataset $(DATASET) --root $(ROOT) \
	$(if $(OUT),--out $(OUT)) $(if $(JOBS),--jobs $(JOBS)) $(if $(SHARD),--shard $(SHARD)) \
	$(if $(ALLOW_MISSING),--allow-missing) $(ARGS)
TRAIN = $(VENV)/bin/python tools/train_net.py --dataset $(DATASET) --split $(SPLIT) \
	$(if $(SETTING),--setting $(SETTING)) $(if $(GPUS),--gpus $(GPUS)) \
	$(if $(WEIGHTS),--weights $(WEIGHTS)) $(if $(RESUME),--resume) $(if $(FRESH),--fresh) \
	$(if $(ITERS),--iters $(ITERS)) $(if $(NET),--net $(NET)) \
	$(if $(HOLDOUT),--holdout $(HOLDOUT)) $(if $(MEAN),--mean $(MEAN)) $(ARGS)
SCORE = $(VENV)/bin/python tools/score_net.py --dataset $(DATASET) --split $(SPLIT) \
	--subset $(SUBSET) $(if $(SETTING),--setting $(SETTING)) $(if $(NET),--net $(NET)) \
	$(if $(GPU),--gpu $(GPU)) $(ARGS)
export CAFFE_SRC CAFFE_CACHE CAFFE_JOBS CUDA_ARCH_BIN
comma := ,

TRAINS = train-spatial train-temporal train-multitask
SCORES = score-spatial score-temporal score-multitask
# The stage's name before it was scoring, kept as aliases.
EVALS = eval-spatial eval-temporal eval-multitask
BENCHES = bench-flow bench-train bench-test bench-classify

.PHONY: help clean demo bench setup ready system venv caffe test test-fast prototxt synthetic frames flow merge \
	$(BENCHES) score eval $(SCORES) $(EVALS) fuse export classify report paper $(TRAINS) gpu-kit gpu-check gpu-rehearsal \
	rehearse-os

##   make help      this list
help:
	@sed -n 's/^## \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

##   make clean     what set-up and the tools regenerate in this clone (.venv/, gpu-kit/, caches);
##                  never runs/ or data/ (your results and stores), nor the Caffe build cache
clean:
	rm -rf .venv gpu-kit .pytest_cache build *.egg-info
	find . -name __pycache__ -type d -prune -not -path './data/*' -not -path './runs/*' \
		-exec rm -rf {} +

##   make setup     system packages, .venv/ and Caffe (cached outside the clone)
# SETUP=0: the environment was made elsewhere (the GPU kit's, by tools/gpu/gpu_check.sh): no apt, no
# venv, no Caffe build.
ifeq ($(SETUP),0)
setup: ;
else
setup: caffe
endif

system:
	bash tools/setup/install_system_packages.sh

venv: system
	PYTHON=$(PYTHON) bash tools/setup/make_venv.sh

# The project's own venv is made first; a conda env (VENV=$$CONDA_PREFIX) is already there.
ifeq ($(VENV),.venv)
caffe: venv
endif
caffe:
	PYTHON=$(VENV)/bin/python CUDA=$(CUDA) bash tools/setup/build_caffe.sh

# Targets that only read score files (fuse, report) run set-up only when the environment cannot
# import pycaffe yet: no apt check on a machine that has everything.
ready:
	@$(VENV)/bin/python -c "import caffe" 2>/dev/null || $(MAKE) --no-print-directory setup

##   make test      setup, then the test suite (what CI runs)
test: setup
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

##   make test-fast  the suite less the end-to-end tests marked slow (about a minute)
test-fast: setup
	$(VENV)/bin/python -m pytest -m "not slow" $(PYTEST_ARGS)

##   make demo      setup, then the paper in miniature on the embedded synthetic data (6 to 9
##                  min on 2 cores) -> runs/demo/report.md, results.json [DEMO=full: paper-sized]
demo: setup
	$(VENV)/bin/python tools/demo.py $(if $(filter full,$(DEMO)),--full)

##   make prototxt  regenerate prototxt/ and solvers/ (every net and solver of Tables 1-4)
prototxt: setup
	$(VENV)/bin/python tools/make_prototxts.py

##   make synthetic  the embedded default data: synthetic UCF-101- and HMDB-51-like datasets
synthetic: setup
	$(VENV)/bin/python tools/make_synthetic.py --out $(SYNTHETIC) $(ARGS)

##   make frames DATASET=ucf101 ROOT=/path [OUT= JOBS= SHARD=i/N]   frames into the store
frames: setup
	$(EXTRACT)

##   make flow   DATASET=ucf101 ROOT=/path [METHOD=brox BOUND= BACKWARD=1 JOBS= SHARD=i/N]
flow: setup
	$(EXTRACT) --method $(METHOD) $(if $(BOUND),--bound $(BOUND)) $(if $(BACKWARD),--backward)

##   make merge  DATASET=ucf101 ROOT=/path  join the shards of a SHARD=i/N run
merge: setup
	$(EXTRACT) --merge

##   make train-spatial | train-temporal | train-multitask  DATASET= SPLIT=1|2|3|all [SETTING=
##        GPUS=0,1 WEIGHTS=x.caffemodel MEAN=x.binaryproto RESUME=1 | FRESH=1 ITERS= NET=
##        HOLDOUT=0.1]   train with pycaffe -> runs/{dataset}/{net}_split{k}/ (a folder holding
##        a run needs RESUME=1 or FRESH=1; SPLIT=all: every video, no test set, to pre-train
##        on; HOLDOUT=0: no validation, every training video trains; MEAN: the weights' mean
##        image in place of the mean pixel)
$(TRAINS): train-%: setup
	$(TRAIN) --stream $*

##   make score-spatial | score-temporal | score-multitask  DATASET= SPLIT= [SUBSET=test|train
##        SETTING= NET= GPU=0]   the 25 x 10 test (Sect. 5) of the run train-* made
##        -> runs/scores/{dataset}/{net}_split{k}_{subset}.h5
##        (the same under their old names: make eval-spatial | eval-temporal | eval-multitask)
$(SCORES): score-%: setup
	$(SCORE) --stream $*
$(EVALS): eval-%: score-% ;

##   make score RUN=runs/{dataset}/{net}_split{k} [SUBSET= GPU=]   the same for any run folder
##        (the same under its old name: make eval)
score: setup
	$(VENV)/bin/python tools/score_net.py --run $(RUN) --subset $(SUBSET) $(if $(GPU),--gpu $(GPU)) \
		$(ARGS)
eval: score ;

##   make fuse DATASET=ucf101 [SVM=1 SPLITS="1 2 3" SPATIAL_NET= TEMPORAL_NET=]   fuse two nets
##        (default Table 4's: the chosen spatial net and the multi-task temporal net)
fuse: ready
	$(VENV)/bin/python tools/fuse_scores.py --dataset $(DATASET) $(if $(SVM),--svm) \
		$(if $(SPLITS),--splits $(SPLITS)) \
		$(if $(SPATIAL_NET),--spatial-net $(SPATIAL_NET)) \
		$(if $(TEMPORAL_NET),--temporal-net $(TEMPORAL_NET)) $(ARGS)

##   make export RUN=runs/{dataset}/{net}_split{k} [RUN_TEMPORAL=... FUSION=svm BUNDLE=]   a
##        trained model as a Caffe Model Zoo bundle -> runs/bundles/{dataset}_split{k}_{nets}_{fusion}
export: setup
	$(VENV)/bin/python tools/export_model.py --run $(RUN) \
		$(if $(RUN_TEMPORAL),--run $(RUN_TEMPORAL)) $(if $(FUSION),--fusion $(FUSION)) \
		$(if $(BUNDLE),--out $(BUNDLE)) $(ARGS)

##   make classify VIDEO=clip.mp4 MODEL=runs/bundles/NAME [GPU=0 FIGURE=out.png]   top 5
##        classes of a video, flow computed with the model's own settings
classify: setup
	$(VENV)/bin/python tools/classify_video.py $(VIDEO) --model $(MODEL) \
		$(if $(GPU),--gpu $(GPU)) $(if $(FIGURE),--figure $(FIGURE)) $(ARGS)

##   make report      the paper's Tables 1-4 beside ours and Figs. 4-6 -> runs/report/report.md
report: ready
	$(VENV)/bin/python tools/report.py $(ARGS)

##   make paper     Tables 1-4 as one workflow (docs/workflow.md): UCF101=/data/ucf101
##                  HMDB51=/data/hmdb51 WEIGHTS=VGG_CNN_M_2048.caffemodel MEAN=VGG_mean.binaryproto
##                  [TABLES=1a,3] [GPUS=0,1,...: one a job] [CLUSTER=slurm] [SHARDS=N]
##                  [BORROWED=FILE] [DRYRUN=1: list the jobs] [TINY=1: synthetic, minutes]
PAPER_CONFIG = $(if $(TABLES),tables=$(TABLES)) $(if $(UCF101),ucf101_root=$(UCF101)) \
	$(if $(HMDB51),hmdb51_root=$(HMDB51)) $(if $(WEIGHTS),weights=$(WEIGHTS)) \
	$(if $(MEAN),mean=$(MEAN)) $(if $(BORROWED),borrowed_classes=$(BORROWED)) \
	$(if $(SHARDS),shards=$(SHARDS)) $(if $(CLUSTER),cluster=$(CLUSTER)) $(if $(GPUS),gpus=$(GPUS))
paper: setup
	$(VENV)/bin/python -m snakemake --snakefile workflow/Snakefile \
		--profile workflow/profiles/$(if $(CLUSTER),$(CLUSTER),local) \
		$(if $(TINY),--configfile workflow/tiny.yaml) \
		$(if $(strip $(PAPER_CONFIG)),--config $(PAPER_CONFIG)) \
		$(if $(GPUS),--resources gpu=$(words $(subst $(comma), ,$(GPUS)))) \
		$(if $(DRYRUN),--dry-run) $(ARGS)

##   make bench       every benchmark below in one run -> runs/bench/latest.json, README table
bench: setup
	$(VENV)/bin/python tools/bench/bench.py

##   make bench-flow  flow speed/accuracy, pipeline overhead, JOBS=2 speed-up, storage
##   make bench-train input samples/s of the data layers, Caffe CPU img/s, share of sgemm peak
##   make bench-test  videos/s and crops/s of the 25 x 10 test on the CPU
##   make bench-classify  seconds to classify a 10-second clip on the CPU, flow included
$(BENCHES): bench-%: setup
	$(VENV)/bin/python tools/bench/bench_$*.py

##   make gpu-kit   what a bare GPU machine lacks, for make gpu-check there -> gpu-kit/ (<= 48 MiB)
gpu-kit: setup
	bash tools/gpu/gpu_kit.sh

##   make gpu-check  on a GPU machine, with gpu-kit/ beside the tree: CPU vs GPU, training,
##                  resume, test, throughput (9 min) -> $$OUT or runs/bench/gpu-check/
gpu-check:
	bash tools/gpu/gpu_check.sh

##   make gpu-rehearsal  the same check on this CPU, in a bare Debian root made with debootstrap
gpu-rehearsal: gpu-kit
	bash tools/gpu/gpu_rehearsal.sh

##   make rehearse-os [SUITE=trixie|bookworm|forky]  the README's commands (setup, test-fast,
##                  demo) in a fresh clone inside a minimal Debian root (debootstrap; as root;
##                  tens of minutes) -> runs/rehearse-os/{suite}/
rehearse-os:
	SUITE=$(or $(SUITE),trixie) bash tools/setup/rehearse_os.sh
