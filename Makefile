# SPDX-License-Identifier: GPL-2.0
# ESTP: the two commands of README.md are "make demo" and "make check".
#
#   make                    estp.ko for the default kernel (module/estp.ko)
#                           and scripts/estp-ss/estp-ss (ss for ESTP)
#   make estp-ss            ... only estp-ss
#   make KVER=6.12          ... for another kernel of kernels.conf
#   make all-kernels        ... for every kernel of the matrix
#   make kvers              the matrix's kernel names, one a line
#   make check [KVERS="6.1 7.x"] [T=prog[:case]] [STRESS=1]
#   make debug-kernel       build (once a machine) the matrix's debug kernel
#   make lint               checkpatch --strict, sparse (C=2), W=1, imports
#   make bench [ROUNDS=5] [CONNS=100000]  TCP beside ESTP in one guest of
#                           KVER: a table, JSON and a plot under results/
#   make fuzz [KVER=debug] [SEED=N] [N=COUNT] [T=PROG] [CASE=F.V.T]
#                           the fuzzers and load tests as long as asked
#   make demo               boot the default kernel and show ESTP working
#   make vm KVER=... CMD=.. run CMD in a guest (scripts/vm-run)
#   make docs               render Documentation/ to HTML
#   make clean
KVERS ?= $(shell scripts/lib-names)
KVER ?= $(firstword $(KVERS))
T ?=
STRESS ?= 0
ROUNDS ?= 5
CONNS ?= 100000
# make fuzz runs on the debug kernel unless KVER is given on its line.
FUZZ_KVER := $(if $(filter command line,$(origin KVER)),$(KVER))

.PHONY: all module estp-ss all-kernels kvers check debug-kernel lint bench profile fuzz demo vm docs clean

all: module estp-ss

module:
	@ko=$$(scripts/build-module $(KVER)) && \
	if [ "$(KVER)" = "$(firstword $(shell scripts/lib-names))" ]; then \
		cp "$$ko" module/estp.ko && echo module/estp.ko; else echo "$$ko"; fi

estp-ss:
	@scripts/build-estp-ss

all-kernels:
	@for k in $(KVERS); do scripts/build-module $$k || exit 1; done

kvers:
	@scripts/lib-names

check:
	@T="$(T)" STRESS="$(STRESS)" scripts/check $(KVERS)

debug-kernel:
	@scripts/kernel-fetch $(shell awk '$$4 == "debug" {print $$1}' kernels.conf)

lint:
	@scripts/lint $(KVERS)

bench:
	@KVER=$(KVER) CONNS=$(CONNS) scripts/bench $(ROUNDS)

profile:
	@KVER=$(KVER) MODES="$(MODES)" PPATH=$(PPATH) scripts/profile

fuzz:
	@KVER=$(FUZZ_KVER) SEED=$(SEED) N=$(N) T="$(T)" CASE=$(CASE) scripts/fuzz

demo:
	@scripts/demo $(KVER)

vm:
	@scripts/vm-run --kver $(KVER) -- $(CMD)

docs:
	@scripts/docs

# make install [KVER=6.1] [INSTALL_MOD_PATH=DIR] [INSTALL_MOD_DIR=updates]:
# estp.ko of KVER's build into DIR/lib/modules/RELEASE/INSTALL_MOD_DIR, then
# depmod, as kbuild's modules_install.  make dkms-install [DKMS_KVER=...]:
# the sources to /usr/src/estp-VERSION, dkms add, build, install (dkms.conf).
INSTALL_MOD_PATH ?=
INSTALL_MOD_DIR ?= updates
DKMS_KVER ?= $(shell uname -r)

.PHONY: install dkms-install
install:
	@ko=$$(scripts/build-module $(KVER)) && \
	rel=$$(modinfo -F vermagic "$$ko" | cut -d' ' -f1) && \
	dir="$(INSTALL_MOD_PATH)/lib/modules/$$rel/$(INSTALL_MOD_DIR)" && \
	install -D -m 644 "$$ko" "$$dir/estp.ko" && echo "$$dir/estp.ko" && \
	depmod -b "$(if $(INSTALL_MOD_PATH),$(INSTALL_MOD_PATH),/)" "$$rel"

dkms-install:
	@scripts/dkms/install $(DKMS_KVER)

clean:
	rm -rf .cache/build .cache/runs .cache/check Documentation/_build module/estp.ko
	$(MAKE) -s -C selftests clean 2>/dev/null || true
	$(MAKE) -s -C scripts/estp-ss clean
