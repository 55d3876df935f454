cd selftests
d=${OUTDIR:-/tmp}
for p in "$@"; do
	s=$(date +%s%N)
	./$p > $d/out.$p 2>&1; rc=$?
	e=$(date +%s%N)
	echo "TIME $p rc=$rc $(( (e - s) / 1000000 ))ms $(grep -c '^ok' $d/out.$p) ok $(grep -c '^not ok' $d/out.$p) notok"
	grep '^not ok' $d/out.$p | head -60
done
