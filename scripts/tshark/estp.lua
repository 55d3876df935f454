-- SPDX-License-Identifier: GPL-2.0
-- ESTP dissector for Wireshark/tshark (Lua, tested on Debian's 4.0).
--
-- ESTP carries TCP's header and options on IP protocol 253 (the module's
-- ipproto= parameter): see Documentation/protocol.rst.  Load it with
--
--   tshark -X lua_script:scripts/tshark/estp.lua -r FILE
--
-- Another protocol number: -o estp.proto:N, ESTP_IPPROTO=N in the
-- environment (read when the script loads), the "IP protocol number"
-- preference in Wireshark, or Decode As (-d ip.proto==N,estp).
--
-- It decodes every header field, flags as bits, every option kind ESTP
-- sends or parses (EOL, NOP, MSS, window scale, SACK-permitted, SACK,
-- timestamps, Fast Open 34 and its experimental form 254/0xF989; MD5 19
-- shown if met), verifies the checksum over the IPv4 or IPv6
-- pseudo-header (estp.checksum.status: 0 bad, 1 good, 2 unverified; a
-- sender's capture of a segment whose checksum was left to the device,
-- CHECKSUM_PARTIAL, holds the pseudo-header's sum: estp.checksum.partial,
-- status 2, not bad),
-- numbers streams (estp.stream), shows relative sequence numbers
-- (estp.seq, estp.ack; raw: estp.seq_raw, estp.ack_raw), the scaled window
-- and flags retransmissions (estp.analysis.retransmission).  Expert info
-- marks a bad checksum, a bad option length and a bad data offset.
-- Follow a stream's payload with estp-follow.lua (tshark 4.0 has no Lua
-- API for -z follow).

local estp = Proto("estp", "Experimental Stream Transport Protocol")

local DEFAULT_PROTO = 253
do
	local env = tonumber(os.getenv("ESTP_IPPROTO") or "")
	if env and env >= 0 and env <= 255 then
		DEFAULT_PROTO = env
	end
end

estp.prefs.proto = Pref.uint("IP protocol number", DEFAULT_PROTO,
	"The IP protocol number ESTP runs on (the module's ipproto=, 253 by default)")
estp.prefs.relative = Pref.bool("Relative sequence numbers", true,
	"Show sequence and acknowledgement numbers relative to the stream's first")
estp.prefs.check_checksum = Pref.bool("Validate the checksum", true,
	"Verify the checksum over the IP pseudo-header")

local CK_BAD, CK_GOOD, CK_UNVERIFIED = 0, 1, 2
local ck_status_vals = { [0] = "Bad", [1] = "Good", [2] = "Unverified" }

local optkinds = {
	[0] = "End of Option List (EOL)", [1] = "No-Operation (NOP)",
	[2] = "Maximum segment size", [3] = "Window scale",
	[4] = "SACK permitted", [5] = "SACK", [8] = "Timestamps",
	[19] = "MD5 signature", [29] = "TCP-AO", [34] = "TCP Fast Open Cookie",
	[253] = "RFC 3692-style Experiment 1", [254] = "RFC 3692-style Experiment 2",
}

local f = {
	srcport = ProtoField.uint16("estp.srcport", "Source Port", base.DEC),
	dstport = ProtoField.uint16("estp.dstport", "Destination Port", base.DEC),
	port = ProtoField.uint16("estp.port", "Source or Destination Port", base.DEC),
	stream = ProtoField.uint32("estp.stream", "Stream index", base.DEC),
	len = ProtoField.uint32("estp.len", "Segment Len", base.DEC),
	seq = ProtoField.uint32("estp.seq", "Sequence Number", base.DEC),
	seq_raw = ProtoField.uint32("estp.seq_raw", "Sequence Number (raw)", base.DEC),
	nxtseq = ProtoField.uint32("estp.nxtseq", "Next Sequence Number", base.DEC),
	ack = ProtoField.uint32("estp.ack", "Acknowledgment Number", base.DEC),
	ack_raw = ProtoField.uint32("estp.ack_raw", "Acknowledgment number (raw)", base.DEC),
	hdr_len = ProtoField.uint8("estp.hdr_len", "Header Length", base.DEC),
	doff = ProtoField.uint8("estp.doff", "Data Offset (32-bit words)", base.DEC, nil, 0xF0),
	res = ProtoField.uint8("estp.flags.res", "Reserved", base.HEX, nil, 0x0F),
	flags = ProtoField.uint8("estp.flags", "Flags", base.HEX),
	f_cwr = ProtoField.bool("estp.flags.cwr", "Congestion Window Reduced (CWR)", 8, nil, 0x80),
	f_ece = ProtoField.bool("estp.flags.ece", "ECN-Echo", 8, nil, 0x40),
	f_urg = ProtoField.bool("estp.flags.urg", "Urgent", 8, nil, 0x20),
	f_ack = ProtoField.bool("estp.flags.ack", "Acknowledgment", 8, nil, 0x10),
	f_psh = ProtoField.bool("estp.flags.push", "Push", 8, nil, 0x08),
	f_rst = ProtoField.bool("estp.flags.reset", "Reset", 8, nil, 0x04),
	f_syn = ProtoField.bool("estp.flags.syn", "Syn", 8, nil, 0x02),
	f_fin = ProtoField.bool("estp.flags.fin", "Fin", 8, nil, 0x01),
	flags_str = ProtoField.string("estp.flags.str", "ESTP Flags"),
	win_value = ProtoField.uint16("estp.window_size_value", "Window", base.DEC),
	win = ProtoField.uint32("estp.window_size", "Calculated window size", base.DEC),
	win_scale = ProtoField.int32("estp.window_size_scalefactor", "Window size scaling factor", base.DEC),
	checksum = ProtoField.uint16("estp.checksum", "Checksum", base.HEX),
	ck_calc = ProtoField.uint16("estp.checksum.calculated", "Calculated Checksum", base.HEX),
	ck_partial = ProtoField.bool("estp.checksum.partial", "Partial checksum (offload)"),
	ck_status = ProtoField.uint8("estp.checksum.status", "Checksum Status", base.DEC, ck_status_vals),
	urgent = ProtoField.uint16("estp.urgent_pointer", "Urgent Pointer", base.DEC),
	options = ProtoField.bytes("estp.options", "Options"),
	opt_kind = ProtoField.uint8("estp.option_kind", "Kind", base.DEC, optkinds),
	opt_len = ProtoField.uint8("estp.option_len", "Length", base.DEC),
	opt_eol = ProtoField.none("estp.options.eol", "End of Option List (EOL)"),
	opt_nop = ProtoField.none("estp.options.nop", "No-Operation (NOP)"),
	opt_mss = ProtoField.uint16("estp.options.mss_val", "MSS Value", base.DEC),
	opt_ws = ProtoField.uint8("estp.options.wscale.shift", "Shift count", base.DEC),
	opt_ws_mul = ProtoField.uint32("estp.options.wscale.multiplier", "Multiplier", base.DEC),
	opt_sack_perm = ProtoField.none("estp.options.sack_perm", "SACK permitted"),
	opt_sack_le = ProtoField.uint32("estp.options.sack_le", "SACK left edge", base.DEC),
	opt_sack_re = ProtoField.uint32("estp.options.sack_re", "SACK right edge", base.DEC),
	opt_sack_count = ProtoField.uint8("estp.options.sack.count", "Number of SACK blocks", base.DEC),
	opt_tsval = ProtoField.uint32("estp.options.timestamp.tsval", "Timestamp value", base.DEC),
	opt_tsecr = ProtoField.uint32("estp.options.timestamp.tsecr", "Timestamp echo reply", base.DEC),
	opt_tfo_req = ProtoField.none("estp.options.tfo.request", "Fast Open Cookie Request"),
	opt_tfo_cookie = ProtoField.bytes("estp.options.tfo.cookie", "Fast Open Cookie"),
	opt_exp_magic = ProtoField.uint16("estp.options.experimental.magic", "Magic Number", base.HEX),
	opt_md5 = ProtoField.bytes("estp.options.md5.digest", "MD5 digest"),
	opt_data = ProtoField.bytes("estp.options.data", "Option data"),
	payload = ProtoField.bytes("estp.payload", "ESTP payload"),
	retrans = ProtoField.none("estp.analysis.retransmission", "This frame is a (suspected) retransmission"),
	dupack = ProtoField.none("estp.analysis.duplicate_ack", "This is a duplicate ACK"),
}
local pf = {}
for _, v in pairs(f) do pf[#pf + 1] = v end
estp.fields = pf

local e = {
	ck_bad = ProtoExpert.new("estp.checksum_bad.expert", "Bad checksum",
		expert.group.CHECKSUM, expert.severity.ERROR),
	ck_partial = ProtoExpert.new("estp.checksum.partial.expert",
		"Partial checksum: left to the device (CHECKSUM_PARTIAL), captured before it was filled in",
		expert.group.CHECKSUM, expert.severity.CHAT),
	opt_len = ProtoExpert.new("estp.option.len.invalid", "Option length is invalid",
		expert.group.MALFORMED, expert.severity.ERROR),
	hdr_len = ProtoExpert.new("estp.hdr_len.invalid", "Bad header length",
		expert.group.MALFORMED, expert.severity.ERROR),
	retrans = ProtoExpert.new("estp.analysis.retransmission.expert",
		"This frame is a (suspected) retransmission",
		expert.group.SEQUENCE, expert.severity.NOTE),
	dupack = ProtoExpert.new("estp.analysis.duplicate_ack.expert", "Duplicate ACK",
		expert.group.SEQUENCE, expert.severity.NOTE),
	syn = ProtoExpert.new("estp.connection.syn", "Connection establish request (SYN)",
		expert.group.SEQUENCE, expert.severity.CHAT),
	synack = ProtoExpert.new("estp.connection.synack", "Connection establish acknowledge (SYN+ACK)",
		expert.group.SEQUENCE, expert.severity.CHAT),
	fin = ProtoExpert.new("estp.connection.fin", "Connection finish (FIN)",
		expert.group.SEQUENCE, expert.severity.CHAT),
	rst = ProtoExpert.new("estp.connection.rst", "Connection reset (RST)",
		expert.group.SEQUENCE, expert.severity.WARN),
}
estp.experts = { e.ck_bad, e.ck_partial, e.opt_len, e.hdr_len, e.retrans, e.dupack, e.syn,
	e.synack, e.fin, e.rst }

-- The IP layer's addresses, for the pseudo-header.
local fx = {
	ip_src = Field.new("ip.src"), ip_dst = Field.new("ip.dst"),
	ip_proto = Field.new("ip.proto"),
	ip6_src = Field.new("ipv6.src"), ip6_dst = Field.new("ipv6.dst"),
}

local TWO32 = 4294967296

local function seq_sub(a, b) return (a - b) % TWO32 end
-- a after b, modulo 2^32
local function seq_after(a, b)
	local d = (a - b) % TWO32
	return d ~= 0 and d < 2147483648
end

-- Internet checksum (one's complement sum of 16-bit words) over a string.
local function csum_add(sum, s)
	local n = #s
	local even = n - n % 2
	for i = 1, even, 8000 do
		local t = { string.byte(s, i, math.min(i + 7999, even)) }
		for k = 1, #t, 2 do
			sum = sum + t[k] * 256 + t[k + 1]
		end
	end
	if n % 2 == 1 then
		sum = sum + string.byte(s, n) * 256
	end
	return sum
end

local function csum_fold(sum)
	while sum > 0xFFFF do
		sum = (sum % 65536) + math.floor(sum / 65536)
	end
	return sum
end

local function last(t) return t[#t] end

-- The pseudo-header's addresses: the innermost IP layer's (IPv4 or IPv6).
local function pseudo_addrs()
	local s4, d4 = last({ fx.ip_src() }), last({ fx.ip_dst() })
	local s6, d6 = last({ fx.ip6_src() }), last({ fx.ip6_dst() })
	local use6 = s6 and d6 and (not s4 or s6.offset > s4.offset)
	if use6 then
		return s6.range:bytes():raw() .. d6.range:bytes():raw(), true
	elseif s4 and d4 then
		local p = last({ fx.ip_proto() })
		return s4.range:bytes():raw() .. d4.range:bytes():raw(), false, p and p.value
	end
	return nil
end

-- Streams and per-direction sequence state; per-frame results cached so
-- that a second pass (Wireshark's GUI, tshark -2) shows the same.
local streams, frames, nstreams

local function reset_state()
	streams, frames, nstreams = {}, {}, 0
end
estp.init = reset_state
reset_state()

local current_proto = nil
local function register_proto()
	local t = DissectorTable.get("ip.proto")
	if current_proto then t:remove(current_proto, estp) end
	current_proto = estp.prefs.proto
	t:add(current_proto, estp)
end

function estp.prefs_changed()
	if current_proto ~= estp.prefs.proto then register_proto() end
end

local function analyse(pinfo, sport, dport, seq, ack, flags, seglen, win)
	local cached = frames[pinfo.number]
	if cached then return cached end
	local a = tostring(pinfo.net_src) .. ":" .. sport
	local b = tostring(pinfo.net_dst) .. ":" .. dport
	local key, dir
	if a < b then key, dir = a .. "|" .. b, 1 else key, dir = b .. "|" .. a, 2 end
	local syn, ackf, fin, rst = flags % 4 >= 2, flags % 32 >= 16, flags % 2 == 1, flags % 8 >= 4
	local st = streams[key]
	-- A new SYN (no ACK) with another ISN after the stream ended or on
	-- a fresh tuple starts a new stream.
	if not st or (syn and not ackf and st.d[dir].isn and st.d[dir].isn ~= seq) then
		st = { index = nstreams, d = { {}, {} } }
		nstreams = nstreams + 1
		streams[key] = st
	end
	local me, peer = st.d[dir], st.d[3 - dir]
	local r = { stream = st.index }
	if me.base == nil then
		if syn then me.base = seq; me.isn = seq else me.base = (seq - 1) % TWO32 end
	end
	if syn then
		me.syn = true
	end
	local adv = seglen + (syn and 1 or 0) + (fin and 1 or 0)
	local seqend = (seq + adv) % TWO32
	r.rel_seq = seq_sub(seq, me.base)
	r.rel_nxt = seq_sub(seqend, me.base)
	if ackf then
		if peer.base == nil then peer.base = (ack - 1) % TWO32 end
		r.rel_ack = seq_sub(ack, peer.base)
	end
	-- Retransmission: data (or SYN/FIN) all of which was seen before.
	if adv > 0 and me.maxend and not seq_after(seqend, me.maxend) and not rst then
		r.retrans = true
	end
	if not me.maxend or seq_after(seqend, me.maxend) then me.maxend = seqend end
	-- Duplicate ACK: a pure ACK repeating the last ACK and window.
	if ackf and adv == 0 and not syn and not fin and not rst then
		if me.lastack == ack and me.lastwin == win then r.dupack = true end
	end
	if ackf then me.lastack, me.lastwin = ack, win end
	r.me, r.peer = me, peer
	frames[pinfo.number] = r
	return r
end

local function flags_string(fl)
	local names = { "C", "E", "U", "A", "P", "R", "S", "F" }
	local s = ""
	local bit = 128
	for i = 1, 8 do
		if math.floor(fl / bit) % 2 == 1 then s = s .. names[i] else s = s .. "\194\183" end
		bit = bit / 2
	end
	return s
end

local function flags_names(fl)
	local names = { [0x80] = "CWR", [0x40] = "ECE", [0x20] = "URG", [0x10] = "ACK",
		[0x08] = "PSH", [0x04] = "RST", [0x02] = "SYN", [0x01] = "FIN" }
	local order = { 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80 }
	local t = {}
	for _, b in ipairs(order) do
		if math.floor(fl / b) % 2 == 1 then t[#t + 1] = names[b] end
	end
	return table.concat(t, ", ")
end

-- Expected lengths of the kinds with a fixed one.
local fixed_len = { [2] = 4, [3] = 3, [4] = 2, [8] = 10, [19] = 18 }

local function dissect_options(tvb, off, len, tree, pinfo, syn, info)
	local otree = tree:add(f.options, tvb(off, len))
	local stop = off + len
	local p = off
	local ws_shift
	while p < stop do
		local kind = tvb(p, 1):uint()
		if kind == 0 then
			local t = otree:add(f.opt_eol, tvb(p, 1))
			t:add(f.opt_kind, tvb(p, 1))
			break
		elseif kind == 1 then
			local t = otree:add(f.opt_nop, tvb(p, 1))
			t:add(f.opt_kind, tvb(p, 1))
			p = p + 1
		else
			if p + 1 >= stop then
				local t = otree:add(f.opt_kind, tvb(p, 1))
				t:add_proto_expert_info(e.opt_len, "Option kind " .. kind .. " has no length byte")
				break
			end
			local olen = tvb(p + 1, 1):uint()
			local name = optkinds[kind] or ("Unknown kind " .. kind)
			if olen < 2 or p + olen > stop then
				local t = otree:add(tvb(p, stop - p), name .. ": bad length " .. olen)
				t:add(f.opt_kind, tvb(p, 1))
				local lt = t:add(f.opt_len, tvb(p + 1, 1))
				lt:add_proto_expert_info(e.opt_len, "Option length " .. olen ..
					(olen < 2 and " is less than 2" or " runs past the header"))
				break
			end
			local t = otree:add(tvb(p, olen), name)
			t:add(f.opt_kind, tvb(p, 1))
			local lt = t:add(f.opt_len, tvb(p + 1, 1))
			local bad = false
			if fixed_len[kind] and olen ~= fixed_len[kind] then bad = true end
			if kind == 5 and (olen < 10 or (olen - 2) % 8 ~= 0) then bad = true end
			if kind == 34 and olen ~= 2 and (olen < 6 or olen > 18 or olen % 2 == 1) then bad = true end
			if bad then
				lt:add_proto_expert_info(e.opt_len, name .. ": length " .. olen .. " is invalid")
				t:append_text(" (bad length " .. olen .. ")")
			elseif kind == 2 then
				local mss = tvb(p + 2, 2):uint()
				t:add(f.opt_mss, tvb(p + 2, 2))
				t:append_text(": " .. mss .. " bytes")
				info[#info + 1] = "MSS=" .. mss
			elseif kind == 3 then
				local sh = tvb(p + 2, 1):uint()
				t:add(f.opt_ws, tvb(p + 2, 1))
				local eff = math.min(sh, 14)
				t:add(f.opt_ws_mul, tvb(p + 2, 1), 2 ^ eff)
				t:append_text(": " .. sh .. " (multiply by " .. math.floor(2 ^ eff) .. ")")
				info[#info + 1] = "WS=" .. math.floor(2 ^ eff)
				ws_shift = eff
			elseif kind == 4 then
				t:add(f.opt_sack_perm, tvb(p, 2))
				info[#info + 1] = "SACK_PERM"
			elseif kind == 5 then
				local n = (olen - 2) / 8
				t:add(f.opt_sack_count, tvb(p + 1, 1), n)
				for i = 0, n - 1 do
					t:add(f.opt_sack_le, tvb(p + 2 + 8 * i, 4))
					t:add(f.opt_sack_re, tvb(p + 6 + 8 * i, 4))
					info[#info + 1] = "SLE=" .. tvb(p + 2 + 8 * i, 4):uint() ..
						" SRE=" .. tvb(p + 6 + 8 * i, 4):uint()
				end
			elseif kind == 8 then
				t:add(f.opt_tsval, tvb(p + 2, 4))
				t:add(f.opt_tsecr, tvb(p + 6, 4))
				t:append_text(": TSval " .. tvb(p + 2, 4):uint() .. ", TSecr " .. tvb(p + 6, 4):uint())
				info[#info + 1] = "TSval=" .. tvb(p + 2, 4):uint() .. " TSecr=" .. tvb(p + 6, 4):uint()
			elseif kind == 34 then
				if olen == 2 then
					t:add(f.opt_tfo_req, tvb(p, 2))
					info[#info + 1] = "TFO=R"
				else
					t:add(f.opt_tfo_cookie, tvb(p + 2, olen - 2))
					info[#info + 1] = "TFO=C"
				end
			elseif kind == 254 or kind == 253 then
				if olen >= 4 then
					local magic = tvb(p + 2, 2):uint()
					t:add(f.opt_exp_magic, tvb(p + 2, 2))
					if magic == 0xF989 then
						t:append_text(": TCP Fast Open (experimental)")
						if olen == 4 then
							t:add(f.opt_tfo_req, tvb(p, 4))
							info[#info + 1] = "TFO=R"
						elseif olen >= 8 and olen <= 20 and olen % 2 == 0 then
							t:add(f.opt_tfo_cookie, tvb(p + 4, olen - 4))
							info[#info + 1] = "TFO=C"
						else
							lt:add_proto_expert_info(e.opt_len, "Fast Open (experimental): length " .. olen .. " is invalid")
						end
					elseif olen > 4 then
						t:add(f.opt_data, tvb(p + 4, olen - 4))
					end
				elseif olen > 2 then
					t:add(f.opt_data, tvb(p + 2, olen - 2))
				end
			elseif kind == 19 then
				t:add(f.opt_md5, tvb(p + 2, 16))
			elseif olen > 2 then
				t:add(f.opt_data, tvb(p + 2, olen - 2))
			end
			p = p + olen
		end
	end
	return ws_shift
end

function estp.dissector(tvb, pinfo, tree)
	local caplen = tvb:len()
	local reported = tvb:reported_length_remaining()
	pinfo.cols.protocol = "ESTP"
	local subtree = tree:add(estp, tvb())
	if caplen < 20 then
		subtree:add_proto_expert_info(e.hdr_len, "Segment shorter than the 20-byte header")
		pinfo.cols.info = "Bogus ESTP segment (" .. reported .. " bytes)"
		return caplen
	end
	local sport, dport = tvb(0, 2):uint(), tvb(2, 2):uint()
	local seq, ack = tvb(4, 4):uint(), tvb(8, 4):uint()
	local doff = math.floor(tvb(12, 1):uint() / 16)
	local fl = tvb(13, 1):uint()
	local win = tvb(14, 2):uint()
	local ck = tvb(16, 2):uint()
	local urp = tvb(18, 2):uint()
	local hlen = doff * 4
	local syn, ackf = fl % 4 >= 2, fl % 32 >= 16

	subtree:add(f.srcport, tvb(0, 2))
	subtree:add(f.dstport, tvb(2, 2))
	local h = subtree:add(f.port, tvb(0, 2)); h:set_hidden()
	h = subtree:add(f.port, tvb(2, 2)); h:set_hidden()
	subtree:append_text(", Src Port: " .. sport .. ", Dst Port: " .. dport)

	local bad_hlen = hlen < 20 or hlen > reported
	local seglen = bad_hlen and 0 or (reported - hlen)
	local r = analyse(pinfo, sport, dport, seq, ack, fl, seglen, win)
	local relative = estp.prefs.relative

	subtree:add(f.stream, tvb(0, 0), r.stream):set_generated()
	subtree:add(f.len, tvb(0, 0), seglen):set_generated()
	local shown_seq = relative and r.rel_seq or seq
	if relative then
		subtree:add(f.seq, tvb(4, 4), r.rel_seq):append_text(" (relative sequence number)")
		subtree:add(f.seq_raw, tvb(4, 4))
	else
		subtree:add(f.seq, tvb(4, 4))
		subtree:add(f.seq_raw, tvb(4, 4))
	end
	local adv = seglen + (syn and 1 or 0) + (fl % 2 == 1 and 1 or 0)
	if adv > 0 then
		subtree:add(f.nxtseq, tvb(0, 0), relative and r.rel_nxt or (seq + adv) % TWO32):set_generated()
	end
	local shown_ack
	if ackf then
		shown_ack = relative and r.rel_ack or ack
		if relative then
			subtree:add(f.ack, tvb(8, 4), r.rel_ack):append_text(" (relative ack number)")
		else
			subtree:add(f.ack, tvb(8, 4))
		end
	end
	subtree:add(f.ack_raw, tvb(8, 4))
	local ht = subtree:add(f.hdr_len, tvb(12, 1), hlen)
	ht:append_text(" bytes (" .. doff .. ")")
	ht:add(f.doff, tvb(12, 1))
	if bad_hlen then
		ht:add_proto_expert_info(e.hdr_len, "Header length " .. hlen ..
			(hlen < 20 and " is less than 20" or " is past the segment (" .. reported .. " bytes)"))
	end
	local ft = subtree:add(f.flags, tvb(13, 1))
	local names = flags_names(fl)
	ft:append_text(" (" .. names .. ")")
	ft:add(f.res, tvb(12, 1))
	ft:add(f.f_cwr, tvb(13, 1))
	ft:add(f.f_ece, tvb(13, 1))
	ft:add(f.f_urg, tvb(13, 1))
	ft:add(f.f_ack, tvb(13, 1))
	ft:add(f.f_psh, tvb(13, 1))
	ft:add(f.f_rst, tvb(13, 1))
	ft:add(f.f_syn, tvb(13, 1))
	ft:add(f.f_fin, tvb(13, 1))
	ft:add(f.flags_str, tvb(13, 1), flags_string(fl)):set_generated()
	if syn and ackf then ft:add_proto_expert_info(e.synack)
	elseif syn then ft:add_proto_expert_info(e.syn) end
	if fl % 2 == 1 then ft:add_proto_expert_info(e.fin) end
	if fl % 8 >= 4 then ft:add_proto_expert_info(e.rst) end

	subtree:add(f.win_value, tvb(14, 2))

	-- Checksum.
	local status = CK_UNVERIFIED
	local calc, partial
	local ckt = subtree:add(f.checksum, tvb(16, 2))
	if estp.prefs.check_checksum and caplen == reported then
		-- IPv4's protocol field (Decode As may have put us on another
		-- number); IPv6's last next header may be an extension's, so the
		-- preference.
		local addrs, v6, proto = pseudo_addrs()
		if addrs then
			local seg = tvb(0, caplen):bytes():raw()
			proto = proto or current_proto or 253
			local sum = csum_add(0, addrs)
			if v6 then
				sum = sum + math.floor(reported / 65536) + reported % 65536 + proto
			else
				sum = sum + proto + reported
			end
			-- The whole segment with the checksum as sent: a correct one
			-- folds to 0xFFFF.
			local total = csum_fold(csum_add(sum, seg))
			local without = csum_fold(csum_add(sum, seg:sub(1, 16) .. "\0\0" .. seg:sub(19)))
			calc = 0xFFFF - without
			if calc == 0 then calc = 0xFFFF end
			status = (total == 0xFFFF) and CK_GOOD or CK_BAD
			-- CHECKSUM_PARTIAL caught on the sending host (loopback,
			-- veth, virtio_net): the field holds the pseudo-header's
			-- folded sum, the device was to add the rest.
			local ph = csum_fold(sum)
			if status == CK_BAD and (ck == ph or (ck == 0 and ph == 0xFFFF) or (ck == 0xFFFF and ph == 0)) then
				status = CK_UNVERIFIED
				partial = true
			end
		end
	end
	if status == CK_GOOD then
		ckt:append_text(" [correct]")
	elseif status == CK_BAD then
		ckt:append_text(string.format(" incorrect, should be 0x%04x", calc))
		ckt:add_proto_expert_info(e.ck_bad, string.format("Bad checksum 0x%04x, should be 0x%04x", ck, calc))
		subtree:add(f.ck_calc, tvb(16, 2), calc):set_generated()
	elseif partial then
		ckt:append_text(string.format(" [partial: offloaded, the pseudo-header's sum; full 0x%04x]", calc))
		ckt:add(f.ck_partial, tvb(16, 2), true):set_generated()
		ckt:add_proto_expert_info(e.ck_partial)
	else
		ckt:append_text(" [unverified]")
	end
	if calc and status == CK_GOOD then
		subtree:add(f.ck_calc, tvb(16, 2), calc):set_generated()
	end
	subtree:add(f.ck_status, tvb(16, 2), status):set_generated()
	subtree:add(f.urgent, tvb(18, 2))

	local info = {}
	local ws_shift
	if not bad_hlen and hlen > 20 and caplen >= hlen then
		ws_shift = dissect_options(tvb, 20, hlen - 20, subtree, pinfo, syn, info)
	end
	-- Window scaling: the SYN's shift counts when both SYNs carried it,
	-- never in a SYN's own window.
	if syn then r.me.ws = ws_shift or -1 end
	local scale = -1		-- unknown
	if syn then
		scale = -2		-- not scaled in a SYN
	elseif r.me.ws and r.peer.ws then
		scale = (r.me.ws >= 0 and r.peer.ws >= 0) and r.me.ws or 0
	end
	if scale >= 0 then
		subtree:add(f.win, tvb(14, 2), win * 2 ^ scale):set_generated()
		subtree:add(f.win_scale, tvb(14, 2), math.floor(2 ^ scale)):set_generated()
	elseif scale == -2 then
		subtree:add(f.win, tvb(14, 2), win):set_generated()
		subtree:add(f.win_scale, tvb(14, 2), -2):append_text(" (no window scaling used)")
	else
		subtree:add(f.win_scale, tvb(14, 2), -1):append_text(" (unknown)")
	end

	if r.retrans then
		local at = subtree:add(f.retrans, tvb(0, 0)):set_generated()
		subtree:add_proto_expert_info(e.retrans)
	end
	if r.dupack then
		subtree:add(f.dupack, tvb(0, 0)):set_generated()
		subtree:add_proto_expert_info(e.dupack)
	end

	-- Info column, as TCP's.
	local prefix = ""
	if r.retrans then prefix = "[ESTP Retransmission] " elseif r.dupack then prefix = "[ESTP Dup ACK] " end
	local s = prefix .. sport .. " \226\134\146 " .. dport .. " [" .. names .. "] Seq=" .. shown_seq
	if ackf then s = s .. " Ack=" .. shown_ack end
	s = s .. " Win=" .. (scale >= 0 and math.floor(win * 2 ^ scale) or win) .. " Len=" .. seglen
	if fl % 64 >= 32 then s = s .. " Urg=" .. urp end
	if #info > 0 then s = s .. " " .. table.concat(info, " ") end
	if status == CK_BAD then s = s .. " [ESTP CHECKSUM INCORRECT]" end
	pinfo.cols.info = s

	if not bad_hlen and seglen > 0 and caplen > hlen then
		subtree:add(f.payload, tvb(hlen))
	end
	return caplen
end

register_proto()
