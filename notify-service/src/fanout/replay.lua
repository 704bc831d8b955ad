-- replay.lua: the personal messages after a seq, if none of them is lost.
--
-- KEYS[1] the user's history stream
-- ARGV[1] since (a stream id "<ms>-<n>")   ARGV[2] at most this many entries
-- Returns {0} when messages after `since` may be gone (the stream expired,
-- or deliver_user.lua dropped an entry newer than `since`), else
-- {1, seq1, frame1, seq2, frame2, ...} oldest first.
-- Needs Redis 7 (XINFO STREAM reports max-deleted-entry-id); an older Redis
-- answers {0} and clients refetch.

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {0}
end

local function parse(id)
  local ms, n = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(n)
end
local function less(a, b)
  local ams, an = parse(a)
  local bms, bn = parse(b)
  return ams < bms or (ams == bms and an < bn)
end

local info = redis.call('XINFO', 'STREAM', KEYS[1])
local max_deleted = nil
for i = 1, #info, 2 do
  if info[i] == 'max-deleted-entry-id' then
    max_deleted = info[i + 1]
  end
end
if not max_deleted or less(ARGV[1], max_deleted) then
  return {0}
end

local out = {1}
for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[2])) do
  local fields = {}
  for i = 1, #entry[2], 2 do
    fields[entry[2][i]] = entry[2][i + 1]
  end
  out[#out + 1] = entry[1]
  out[#out + 1] = (fields['h'] or '') .. entry[1] .. (fields['t'] or '')
end
return out
