# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the ESTP scripts: the kernel matrix and the caches.
# shellcheck shell=bash
#
# Two caches:
#   ESTP_KCACHE (default /var/cache/estp): what a machine fetches or builds
#     once for every checkout: the private apt state, the kernels, the build
#     chroots, linux-source extracts and the debug kernel.
#   ESTP_CACHE (default .cache in the checkout): this checkout's builds, VM run
#     logs and make check results (the guest writes them through the
#     repository's 9p mount, so they must live inside the checkout).

ESTP_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ESTP_CACHE=${ESTP_CACHE:-$ESTP_TOP/.cache}
ESTP_KCACHE=${ESTP_KCACHE:-/var/cache/estp}
ESTP_MATRIX=${ESTP_MATRIX:-$ESTP_TOP/kernels.conf}
export ESTP_CACHE ESTP_KCACHE ESTP_MATRIX
# The guest sees the host's root, but with tmpfs on /tmp and /run: a
# kernel's modules or the kselftest files there would vanish in it.
case $ESTP_KCACHE/ in
/tmp/*|/run/*) echo "ESTP_KCACHE=$ESTP_KCACHE: the guests cannot see /tmp or /run" >&2; exit 1 ;;
esac

die() { echo "${0##*/}: $*" >&2; exit 1; }
log() { echo "${0##*/}: $*" >&2; }

# The kernel lines of the matrix: "name suites series build prefer".
matrix_lines() { grep -Ev '^[[:space:]]*(#|$|source[[:space:]])' "$ESTP_MATRIX"; }
matrix_names() { matrix_lines | awk '{print $1}'; }
matrix_default() { matrix_names | head -n 1; }
# kernel_build NAME: the line's build column (host, chroot, debug).
kernel_build() { matrix_lines | awk -v n="$1" '$1 == n {print $4}'; }

papt() { "$ESTP_TOP/scripts/apt-private" "$@"; }

# best_version: of the "pkg version suite" lines on stdin, print the one with
# the highest Debian version.
best_version() {
	local best='' bv='' p v s
	while read -r p v s; do
		if [ -z "$bv" ] || dpkg --compare-versions "$v" gt "$bv"; then
			best="$p $v $s"
			bv=$v
		fi
	done
	[ -n "$best" ] && echo "$best"
}

# newest_in SUITES PKG...: "pkg version suite" of the newest version of any
# PKG that one of SUITES (comma-separated; "*": any) holds.
newest_in() {
	local suites=$1
	shift
	[ $# -gt 0 ] || return 1
	papt apt-cache madison "$@" 2>/dev/null | awk -F'|' -v s=",$suites," '
		{
			gsub(/ /, "", $1); gsub(/ /, "", $2)
			split($3, a, " "); split(a[2], b, "/")
			if (s == ",*," || index(s, "," b[1] ",")) print $1, $2, b[1]
		}' | best_version
}

# pkg_names PREFIX REGEX: the archive's package names that start with PREFIX
# and match REGEX.
pkg_names() { papt apt-cache pkgnames "$1" 2>/dev/null | grep -E "$2" | sort -u; }

# resolved_file NAME: where NAME's resolution lives.  It depends only on the
# matrix line, these scripts and the apt lists, so it is kept machine-wide,
# keyed by the line and the scripts' content: every checkout of the same
# tree shares it, a changed line or script resolves anew.
resolved_file() {
	local key
	key=$( { matrix_lines | awk -v n="$1" '$1 == n'; cat "$ESTP_TOP/scripts/lib.sh" \
		"$ESTP_TOP/scripts/debug-kernel/estp-debug.config"; } | sha1sum | cut -c1-12)
	echo "$ESTP_KCACHE/resolved/$1-$key"
}

# resolve_kernel NAME: turn a matrix line into what the archive holds now, in
# resolved_file NAME (shell assignments, read by kernel_info).
resolve_kernel() {
	local name=$1 line suites series build prefer re imgs pick rel ver suite pkgs=() hdr=''
	line=$(matrix_lines | awk -v n="$name" '$1 == n')
	[ -n "$line" ] || die "unknown kernel '$name' (known: $(matrix_names | tr '\n' ' '))"
	read -r _ suites series build prefer _ <<<"$line"
	[ "${prefer:--}" != - ] || prefer=
	local out
	out=$(resolved_file "$name")
	mkdir -p "${out%/*}"
	if [ "$build" = debug ]; then
		pick=$(newest_in "$suites" "linux-source-$series") ||
			die "$name: no linux-source-$series in $suites"
		read -r _ ver suite <<<"$pick"
		if [ -n "$prefer" ] && [ "$prefer" != "$ver" ]; then
			if papt apt-cache madison "linux-source-$series" | grep -q "| *$prefer *|"; then
				ver=$prefer
			else
				log "warning: $name: linux-source-$series $prefer is no longer in the archive; taking $ver"
			fi
		fi
		local hash
		hash=$(sha1sum <"$ESTP_TOP/scripts/debug-kernel/estp-debug.config" | cut -c1-8)
		rel=${ver%%-*}-estp-debug
		{
			echo "K_SUITE=$suite K_SERIES=$series K_BUILD=debug"
			echo "K_REL=$rel K_VER=$ver K_SRC=linux-source-$series"
			echo "K_DIR=$ESTP_KCACHE/debug/linux-${ver//\~/_}-$hash"
			echo "K_PKGS='linux-source-$series=$ver'"
		} >"$out.tmp"
		mv "$out.tmp" "$out"
		return 0
	fi
	# The unsigned, generic flavour's images of the series: 6.1.0-57-amd64,
	# 6.12.118+deb12-amd64, 7.3.4+deb13-amd64.
	re="^linux-image-${series//./\\.}\\.[0-9]+(\\.[0-9]+)*(-[0-9]+|\\+deb[0-9]+)?-amd64\$"
	mapfile -t imgs < <(pkg_names "linux-image-$series." "$re")
	[ ${#imgs[@]} -gt 0 ] || die "$name: the archive has no linux-image-$series.*-amd64"
	pick=$(newest_in "$suites" "${imgs[@]}") || die "$name: none of ${#imgs[@]} images of $series is in $suites"
	read -r pick ver suite <<<"$pick"
	if [ -n "$prefer" ] && [ "linux-image-$prefer" != "$pick" ]; then
		local p
		if p=$(newest_in "$suites" "linux-image-$prefer"); then
			read -r pick ver suite <<<"$p"
		else
			log "warning: $name: $prefer is no longer in $suites; taking ${pick#linux-image-}"
		fi
	fi
	rel=${pick#linux-image-}
	# Each companion at its own candidate: a kbuild or headers package can
	# move on while the image stays (6.1.192-3 beside 6.1.192-2).
	companion() {	# companion PKG: "PKG=VERSION", from SUITES or else anywhere
		local c
		c=$(newest_in "$suites" "$1") || c=$(newest_in '*' "$1") || return 1
		awk '{print $1 "=" $2}' <<<"$c"
	}
	local base=${rel%-amd64} c
	if c=$(companion "linux-binary-$rel"); then
		pkgs+=("$c" "$(companion "linux-modules-$rel")")
	else
		pkgs+=("$pick=$ver")
	fi
	c=$(companion "linux-headers-$rel") || die "$name: no linux-headers-$rel"
	hdr=$c
	if [ "$build" = host ]; then
		pkgs+=("$c")
		c=$(companion "linux-headers-$base-common") || die "$name: no linux-headers-$base-common"
		pkgs+=("$c")
		# linux-kbuild is per release since 6.3, per series before.
		c=$(companion "linux-kbuild-$base") || c=$(companion "linux-kbuild-$series") ||
			die "$name: no linux-kbuild for $rel"
		pkgs+=("$c")
	fi
	{
		echo "K_SUITE=$suite K_SERIES=$series K_BUILD=$build"
		echo "K_REL=$rel K_VER=$ver"
		echo "K_DIR=$ESTP_KCACHE/kernels/$rel"
		echo "K_PKGS='${pkgs[*]}' K_HDRPKG='$hdr'"
	} >"$out.tmp"
	mv "$out.tmp" "$out"
}

# kernel_resolved NAME: the resolution is there and newer than the apt
# lists (refreshed once a day).
kernel_resolved() {
	local f
	f=$(resolved_file "$1")
	[ -f "$f" ] && [ ! "$ESTP_KCACHE/apt/updated" -nt "$f" ]
}

# kernel_info NAME: sets K_NAME K_SUITE K_SERIES K_BUILD K_REL K_VER K_DIR
# K_PKGS K_HDR K_CHROOT (resolving the line first if needed).
kernel_info() {
	K_NAME=$1
	kernel_resolved "$1" || resolve_kernel "$1"
	K_SRC='' K_HDRPKG=''
	# shellcheck source=/dev/null
	. "$(resolved_file "$1")"
	K_CHROOT=''
	case $K_BUILD in
	host) K_HDR=$K_DIR/root/usr/src/linux-headers-$K_REL ;;
	debug) K_HDR=$K_DIR/build ;;
	chroot)
		K_HDR=/usr/src/linux-headers-$K_REL	# inside the chroot
		# A chroot of the release the kernel comes from (trixie-backports: trixie).
		K_CHROOT=$ESTP_KCACHE/chroot-${K_SUITE%%-*}
		;;
	*) die "$1: unknown build '$K_BUILD' in kernels.conf" ;;
	esac
}

# kernel_summary: one line saying what kernel_info resolved.
kernel_summary() {
	echo "$K_NAME: $K_REL ($K_PKGS; from $K_SUITE, build $K_BUILD)"
}

# source_info: sets S_SUITE S_SERIES S_VER S_DIR (linux-source extraction).
source_info() {
	local suites series pick
	read -r _ suites series _ <<<"$(grep -E '^source[[:space:]]' "$ESTP_MATRIX")"
	S_SERIES=$series
	local re="^linux-source-${series//./\\.}(\\.[0-9]+)*\$" names=()
	mapfile -t names < <(pkg_names "linux-source-$series" "$re")
	pick=$(newest_in "$suites" "${names[@]}") || die "no linux-source-$series.* in $suites"
	read -r S_PKG S_VER S_SUITE <<<"$pick"
	S_DIR=$ESTP_KCACHE/$S_PKG-$S_VER
}

# lock NAME / unlock: one fetch or build of a machine-wide cache entry at a
# time (a CI run and a session may share the machine).
lock() {
	mkdir -p "$ESTP_KCACHE/locks"
	exec {ESTP_LOCK_FD}>"$ESTP_KCACHE/locks/$1"
	flock "$ESTP_LOCK_FD"
}
unlock() { exec {ESTP_LOCK_FD}>&-; }

# Install host packages that are missing (idempotent, quiet when nothing to do).
need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing ${missing[*]}"
	if [ ! -f "$ESTP_KCACHE/.apt-updated" ] || [ -n "$(find "$ESTP_KCACHE/.apt-updated" -mmin +1440)" ]; then
		apt-get -q update >&2
		mkdir -p "$ESTP_KCACHE" && touch "$ESTP_KCACHE/.apt-updated"
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
