-- SPDX-License-Identifier: GPL-2.0
-- Follow an ESTP stream: tshark 4.0's Lua API cannot register a protocol
-- for -z follow, so this tap does its work.  It reassembles each
-- direction's payload in sequence-number order (retransmitted and
-- overlapping bytes taken once, a hole reported) and prints it at the end
-- of the capture, as -z follow,tcp does.  Load it after estp.lua:
--
--   tshark -q -r FILE -X lua_script:scripts/tshark/estp.lua \
--          -X lua_script:scripts/tshark/estp-follow.lua \
--          [-X lua_script2:stream=N] [-X lua_script2:mode=raw|ascii]
--
-- or ESTP_FOLLOW=N and ESTP_FOLLOW_MODE=raw|ascii in the environment.
-- Default: stream 0 (stream=all: every stream), raw (hex, one line per
-- direction).  The output:
--
--   ===================================================================
--   Follow: estp,raw
--   Filter: estp.stream eq 0
--   Node 0: 10.0.0.1:40000
--   Node 1: 10.0.0.2:5000
--   Node 0 -> Node 1: 11 bytes
--   68656c6c6f20776f726c64
--   Node 1 -> Node 0: 0 bytes
--
--   ===================================================================

local args = { ... }
local function parse_stream(v)
	if v == "all" then return "all" end
	return tonumber(v)
end
local stream_wanted = parse_stream(os.getenv("ESTP_FOLLOW") or "") or 0
local mode = os.getenv("ESTP_FOLLOW_MODE") or "raw"
for _, a in ipairs(args) do
	local k, v = a:match("^(%w+)=(.*)$")
	if k == "stream" then stream_wanted = parse_stream(v) or stream_wanted end
	if k == "mode" then mode = v end
end

local f_stream = Field.new("estp.stream")
local f_seq = Field.new("estp.seq_raw")
local f_sport = Field.new("estp.srcport")
local f_dport = Field.new("estp.dstport")
local f_payload = Field.new("estp.payload")
local f_syn = Field.new("estp.flags.syn")

local TWO32 = 4294967296
local streams

local function reset()
	streams = {}
end
reset()

local tap = Listener.new("frame", "estp")

function tap.reset() reset() end

function tap.packet(pinfo, tvb)
	local st = f_stream()
	if not st or (stream_wanted ~= "all" and st.value ~= stream_wanted) then return end
	local src = tostring(pinfo.net_src) .. ":" .. f_sport().value
	local dst = tostring(pinfo.net_dst) .. ":" .. f_dport().value
	local S = streams[st.value]
	if not S then
		S = { nodes = { src, dst }, dirs = { {}, {} } }
		streams[st.value] = S
	end
	local d = (src == S.nodes[1]) and S.dirs[1] or S.dirs[2]
	local seq = f_seq().value
	local syn = f_syn()
	if syn and syn.value then
		d.isn = seq
		seq = (seq + 1) % TWO32
	end
	local p = f_payload()
	if not p then return end
	local data = p.range:bytes():raw()
	if not d.base then d.base = d.isn and (d.isn + 1) % TWO32 or seq end
	local off = (seq - d.base) % TWO32
	if off >= 2147483648 then off = off - TWO32 end
	d[#d + 1] = { off = off, data = data }
end

local function tohex(s)
	return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local function toascii(s)
	return (s:gsub("[^\n\r\t\32-\126]", "."))
end

local function assemble(d)
	table.sort(d, function(a, b) return a.off < b.off end)
	local out, pos, holes = {}, nil, 0
	for _, s in ipairs(d) do
		if not pos then pos = s.off end
		local e = s.off + #s.data
		if s.off > pos then
			holes = holes + (s.off - pos)
			pos = s.off
		end
		if e > pos then
			out[#out + 1] = s.data:sub(pos - s.off + 1)
			pos = e
		end
	end
	return table.concat(out), holes
end

local function draw_one(n, S)
	print("===================================================================")
	print("Follow: estp," .. mode)
	print("Filter: estp.stream eq " .. n)
	if not S then
		print("(no such stream)")
		print("===================================================================")
		return
	end
	print("Node 0: " .. S.nodes[1])
	print("Node 1: " .. S.nodes[2])
	for i, label in ipairs({ "Node 0 -> Node 1", "Node 1 -> Node 0" }) do
		local data, holes = assemble(S.dirs[i])
		print(label .. ": " .. #data .. " bytes" ..
			(holes > 0 and (" (" .. holes .. " bytes missing)") or ""))
		if mode == "ascii" then print(toascii(data)) else print(tohex(data)) end
	end
	print("===================================================================")
end

function tap.draw()
	if stream_wanted ~= "all" then
		draw_one(stream_wanted, streams[stream_wanted])
		return
	end
	local idx = {}
	for n in pairs(streams) do idx[#idx + 1] = n end
	table.sort(idx)
	for _, n in ipairs(idx) do draw_one(n, streams[n]) end
end
