# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the ESTP scripts: the kernel matrix and the cache.
# shellcheck shell=bash

ESTP_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ESTP_CACHE=${ESTP_CACHE:-$ESTP_TOP/.cache}
ESTP_MATRIX=$ESTP_TOP/kernels.conf
export ESTP_CACHE

die() { echo "${0##*/}: $*" >&2; exit 1; }
log() { echo "${0##*/}: $*" >&2; }

# The kernel lines of the matrix: "name suite release version build".
matrix_lines() { grep -Ev '^[[:space:]]*(#|$|source[[:space:]])' "$ESTP_MATRIX"; }
matrix_names() { matrix_lines | awk '{print $1}'; }
matrix_default() { matrix_names | head -n 1; }

# kernel_info NAME: sets K_NAME K_SUITE K_REL K_VER K_BUILD K_DIR K_HDR
kernel_info() {
	local line
	line=$(matrix_lines | awk -v n="$1" '$1 == n')
	[ -n "$line" ] || die "unknown kernel '$1' (known: $(matrix_names | tr '\n' ' '))"
	read -r K_NAME K_SUITE K_REL K_VER K_BUILD <<<"$line"
	K_DIR=$ESTP_CACHE/kernels/$K_REL
	if [ "$K_BUILD" = host ]; then
		K_HDR=$K_DIR/root/usr/src/linux-headers-$K_REL
	else
		K_HDR=/usr/src/linux-headers-$K_REL	# inside the chroot
	fi
	K_CHROOT=$ESTP_CACHE/chroot-$K_BUILD
}

# source_info: sets S_SUITE S_SERIES S_VER S_DIR (linux-source extraction)
source_info() {
	read -r _ S_SUITE S_SERIES S_VER _ <<<"$(grep -E '^source[[:space:]]' "$ESTP_MATRIX")"
	S_DIR=$ESTP_CACHE/linux-source-$S_VER
}

# Install host packages that are missing (idempotent, quiet when nothing to do).
need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing ${missing[*]}"
	if [ ! -f "$ESTP_CACHE/.apt-updated" ] || [ -n "$(find "$ESTP_CACHE/.apt-updated" -mmin +1440)" ]; then
		apt-get -q update >&2
		mkdir -p "$ESTP_CACHE" && touch "$ESTP_CACHE/.apt-updated"
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

# Run a command inside a build chroot with the repository (and the cache)
# visible at their own paths, in a private mount namespace so that nothing
# stays mounted afterwards.
in_chroot() {
	local ch=$1
	shift
	unshare -m --propagation private bash -euc '
		ch=$1; top=$2; shift 2
		mkdir -p "$ch/proc" "$ch/dev" "$ch$top"
		mount -t proc proc "$ch/proc"
		mount --rbind /dev "$ch/dev"
		mount --bind "$top" "$ch$top"
		exec chroot "$ch" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
	' _ "$ch" "$ESTP_TOP" "$@"
}
