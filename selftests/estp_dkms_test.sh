#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# DKMS: dkms.conf builds, installs and removes estp.ko, and the installed
# module autoloads on socket(AF_INET, SOCK_STREAM, 253).
#
# The host builds (scripts/dkms/prepare KVER: dkms add + dkms build in
# private trees under .cache/dkms/K_REL, with the kernel's own compiler);
# this guest runs dkms install into a modules tree of its own under /tmp
# (the kernel's modules, read-only, linked in), depmod, the autoload through
# a modprobe that uses that tree, then dkms uninstall and dkms remove.
# Nothing outside /tmp is written: /var/lib/dkms, /usr/src and /lib/modules
# stay as they are.  estp is loaded from ESTP_KO again at the end.
cd "$(dirname "$0")" || exit 1
. ./estp_lib.sh

skip() { echo "1..0 # SKIP $1"; exit 4; }
[ -n "${ESTP_KO:-}" ] || skip "ESTP_KO is not set: run through scripts/vm-run"
command -v dkms >/dev/null || skip "no dkms (apt-get install --no-install-recommends dkms)"
command -v python3 >/dev/null || skip "no python3 to call socket() with"
rel=$(uname -r)
top=$(cd .. && pwd)
ver=$("$top/scripts/dkms/version")
prep=${ESTP_DKMS_DIR:-$top/.cache/dkms/$rel}
[ -d "$prep" ] || skip "no $prep: run scripts/dkms/prepare on the host first"

estp_plan 7

tmp=$(mktemp -d)
old_modprobe=$(cat /proc/sys/kernel/modprobe)
loaded() { grep -q '^estp ' /proc/modules; }
cleanup() {
	echo "$old_modprobe" >/proc/sys/kernel/modprobe
	# Whatever estp is loaded now (DKMS's), the runner's comes back.
	if [ "$(cat "$tmp/state" 2>/dev/null)" = dkms ] && loaded && ! rmmod estp; then
		echo "# cannot unload DKMS's estp"
	fi
	if ! loaded && ! insmod "$ESTP_KO"; then
		echo "# cannot load $ESTP_KO again: later tests will fail"
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
say() { sed 's/^/# /'; }
t0=$SECONDS
took() { echo "# $((SECONDS - t0)) s"; t0=$SECONDS; }

# The host's trees, copied: dkms install and remove write in them.
cp -a "$prep/src" "$prep/tree" "$tmp/"
ln -sfn "$tmp/src/estp-$ver" "$tmp/tree/estp/$ver/source"
ksrc=$(cat "$prep/kernelsourcedir" 2>/dev/null)
# The kernel's modules tree (vm-guest's modprobe -d) with room for updates/.
kroot=$(sed -n 's/^exec .*modprobe -d \([^ ]*\) .*/\1/p' /run/estp-bin/modprobe 2>/dev/null)
kmods=${kroot:+$kroot/lib/modules/$rel}
[ -d "${kmods:-/nonexistent}" ] || kmods=/lib/modules/$rel
# Of the kernel's own modules, only those estp needs (inet_diag...), linked
# in at their paths: depmod over all of them, through 9p under TCG, would
# take minutes.
m=$tmp/root/lib/modules/$rel
mkdir -p "$m"
for f in modules.order modules.builtin modules.builtin.modinfo; do
	# (7.x's package has none: empty, as depmod would warn of each.)
	if [ -f "$kmods/$f" ]; then cp "$kmods/$f" "$m/"; else : >"$m/$f"; fi
done
bko=$(find "$tmp/tree/estp/$ver/$rel" -name 'estp.ko*' 2>/dev/null | head -n 1)
for dep in $(modinfo -F depends "$bko" 2>/dev/null | tr , ' '); do
	/usr/sbin/modprobe -d "${kmods%/lib/modules/*}" -S "$rel" --show-depends "$dep" 2>/dev/null |
		awk '$1 == "insmod" {print $2}'
done | sort -u | while read -r f; do
	mkdir -p "$m/$(dirname "${f#"$kmods"/}")"
	ln -sf "$f" "$m/${f#"$kmods"/}"
done
dk() {	# dk COMMAND: dkms on the private trees for this kernel
	local c=$1
	shift
	dkms "$c" -m estp -v "$ver" -k "$rel" --dkmstree "$tmp/tree" --sourcetree "$tmp/src" \
		--installtree "$tmp/root/lib/modules" ${ksrc:+--kernelsourcedir "$ksrc"} "$@"
}
status() { dkms status -m estp --dkmstree "$tmp/tree" --sourcetree "$tmp/src" \
	--installtree "$tmp/root/lib/modules" 2>&1; }

# built STATUS: dkms status says estp/VERSION is built (not installed) for
# this kernel (a fixed string: a release may hold a "+").
built() {
	local l
	while read -r l; do
		case $l in "estp/$ver, $rel, "*": built") return 0 ;; esac
	done <<<"$1"
	return 1
}

# 1. The host's dkms build is there for this kernel.
st=$(status)
echo "$st" | say
built "$st"
rc=$?
took; estp_result "dkms status: estp/$ver built for $rel" $rc
# Not built for this kernel: dkms install would build it here, for minutes
# under TCG, or fail.  The rest cannot pass.
if [ $rc != 0 ]; then
	echo "# not built for $rel: see $prep/build.log (scripts/dkms/prepare)"
	for c in "dkms install" "vermagic and alias" "socket() autoloads DKMS's estp" \
		"the loaded estp is DKMS's" "dkms uninstall" "dkms remove"; do
		estp_result "$c" 1
	done
	estp_exit
fi

# 2. dkms install puts it in updates/dkms of the tree; depmod indexes it.
rc=0
dk install --no-depmod >"$tmp/install.log" 2>&1 || { rc=1; say <"$tmp/install.log"; }
inst=$(find "$m/updates" -name 'estp.ko*' 2>/dev/null | head -n 1)
if [ $rc = 0 ] && [ -z "$inst" ]; then
	echo "# dkms install put no estp.ko in $m/updates"
	rc=1
fi
if [ $rc = 0 ] && ! depmod -b "$tmp/root" "$rel"; then
	echo "# depmod -b $tmp/root $rel failed"
	rc=1
fi
path=$(modinfo -b "$tmp/root" -k "$rel" -F filename estp 2>/dev/null)
if [ $rc = 0 ] && [ "$path" != "$inst" ]; then
	echo "# modinfo finds '$path', not DKMS's $inst"
	rc=1
fi
took; estp_result "dkms install: ${inst#"$tmp/root"}" $rc

# 3. It was built for this kernel and carries the autoload alias.
rc=1
if [ -n "$inst" ] && [ "$(modinfo -F vermagic "$inst" | awk '{print $1}')" = "$rel" ] &&
   modinfo -F alias "$inst" | grep -qx 'net-pf-2-proto-253-type-1'; then
	rc=0
fi
[ $rc = 0 ] || modinfo "$inst" 2>&1 | say
took; estp_result "vermagic $rel, alias net-pf-2-proto-253-type-1" $rc

# 4. socket() loads it: the runner's estp out first, then the kernel's
# modprobe pointed at the tree, logging what it was asked for.
printf '#!/bin/sh\necho "$*" >>%s/modprobe.log\nexec /usr/sbin/modprobe -d %s "$@"\n' \
	"$tmp" "$tmp/root" >"$tmp/modprobe"
chmod +x "$tmp/modprobe"
# From here, cleanup() unloads what is loaded before reloading ESTP_KO.
echo dkms >"$tmp/state"
rc=0
estp_autoload_check "$tmp/modprobe" || rc=1
echo "$old_modprobe" >/proc/sys/kernel/modprobe
if [ $rc = 0 ] && ! grep -q 'net-pf-2-proto-253-type-1' "$tmp/modprobe.log" 2>/dev/null; then
	echo "# estp is loaded, but not through the modprobe of DKMS's tree"
	rc=1
fi
took; estp_result "socket() autoloads DKMS's estp" $rc

# 5. What modprobe loaded is DKMS's file: modprobe resolves the alias to it,
# and the loaded module's srcversion is that file's.
rc=1
# (The module has no MODULE_VERSION, so no srcversion in sysfs: its GNU
# build ID, which differs between DKMS's build and the runner's, tells.)
buildid() {	# buildid KO: also of a .ko.xz or .ko.zst
	case $1 in
	*.xz) xz -dc "$1" >"$tmp/b.ko" ;;
	*.zst) zstd -qdc "$1" >"$tmp/b.ko" ;;
	*) cp "$1" "$tmp/b.ko" ;;
	esac 2>/dev/null
	readelf -n "$tmp/b.ko" 2>/dev/null | awk '/Build ID:/ {print $3}'
}
res=$(/usr/sbin/modprobe -d "$tmp/root" -S "$rel" --show-depends net-pf-2-proto-253-type-1 2>&1 |
	awk 'END {print $1, $2}')
want=$(buildid "$inst")
have=$(od -An -tx1 -v /sys/module/estp/notes/.note.gnu.build-id 2>/dev/null | tr -d ' \n')
if [ "$res" = "insmod $inst" ] && [ -n "$want" ] && [ "${have%"$want"}" != "$have" ] &&
   [ "$want" != "$(buildid "$ESTP_KO")" ]; then
	rc=0
fi
[ $rc = 0 ] || echo "# modprobe: $res; build ID: loaded ${have:-?}, DKMS's ${want:-?}, ESTP_KO's $(buildid "$ESTP_KO")"
took; estp_result "the loaded estp is ${inst#"$tmp/root"}" $rc

# 6. dkms uninstall takes it out of the tree (DKMS's estp unloaded first).
rc=0
if loaded && [ "$(cat "$tmp/state" 2>/dev/null)" = dkms ]; then
	rmmod estp || rc=1
fi
echo runner >"$tmp/state"
dk uninstall --no-depmod >"$tmp/uninstall.log" 2>&1 || { rc=1; say <"$tmp/uninstall.log"; }
if [ -n "$(find "$m/updates" -name 'estp.ko*' 2>/dev/null)" ]; then
	echo "# estp.ko is still in $m/updates after dkms uninstall"
	rc=1
fi
st=$(status)
built "$st" || { echo "$st" | say; rc=1; }
took; estp_result "dkms uninstall: gone from updates/, back to built" $rc

# 7. dkms remove forgets it.
rc=0
dkms remove -m estp -v "$ver" --all --dkmstree "$tmp/tree" --sourcetree "$tmp/src" \
	--installtree "$tmp/root/lib/modules" --no-depmod >"$tmp/remove.log" 2>&1 ||
	{ rc=1; say <"$tmp/remove.log"; }
if [ -n "$(status)" ] || [ -e "$tmp/tree/estp/$ver" ]; then
	echo "# dkms still knows estp/$ver:"
	status | say
	rc=1
fi
took; estp_result "dkms remove: dkms status is empty" $rc
estp_exit
