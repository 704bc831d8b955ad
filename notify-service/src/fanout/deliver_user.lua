-- deliver_user.lua: fans out one personal message, once per message id.
--
-- KEYS[1] the user's history stream   KEYS[2] the message id's seen-marker
-- ARGV[1] seen-marker TTL (s)   ARGV[2] history length kept   ARGV[3] history TTL (s)
-- ARGV[4] pub/sub channel, or "" on a cluster (the caller SPUBLISHes:
--         a script may only publish to a sharded channel of its own slot)
-- ARGV[5] header up to the seq ("u|<user>|")
-- ARGV[6] header after the seq ("|<consumed ms>|<type>\n")
-- ARGV[7] frame up to the seq   ARGV[8] frame after the seq
-- Returns {1, seq} for a message appended now, {0, seq} for one appended
-- before (the marker keeps its seq): a re-run (a redelivery, or a retry of a
-- call whose reply was lost) writes nothing but publishes the recorded
-- message again, because whether the first run's publication went out is
-- unknown (on a cluster it is a separate call). Devices drop a seq they
-- already have. {0, false} when the marker predates the seq being kept.
--
-- Old entries are removed with XDEL, not XADD MAXLEN: only XDEL moves the
-- stream's max-deleted-entry-id, which replay.lua uses to tell whether a
-- client's `since` is still covered by history.

local function publish(seq)
  if ARGV[4] ~= '' then
    redis.call('PUBLISH', ARGV[4], ARGV[5] .. seq .. ARGV[6] .. ARGV[7] .. seq .. ARGV[8])
  end
end

local recorded = redis.call('GET', KEYS[2])
if recorded then
  if not string.find(recorded, '-', 1, true) then
    return {0, false}
  end
  publish(recorded)
  return {0, recorded}
end
local seq = redis.call('XADD', KEYS[1], '*', 'h', ARGV[7], 't', ARGV[8])
redis.call('SET', KEYS[2], seq, 'EX', ARGV[1])
local excess = redis.call('XLEN', KEYS[1]) - tonumber(ARGV[2])
if excess > 0 then
  for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', excess)) do
    redis.call('XDEL', KEYS[1], entry[1])
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
publish(seq)
return {1, seq}
