-- deliver_user.lua: fans out one personal message, once per message id.
--
-- KEYS[1] the user's history stream   KEYS[2] the message id's seen-marker
-- ARGV[1] seen-marker TTL (s)   ARGV[2] history length kept   ARGV[3] history TTL (s)
-- ARGV[4] pub/sub channel, or "" on a cluster (the caller SPUBLISHes:
--         a script may only publish to a sharded channel of its own slot)
-- ARGV[5] header up to the seq ("u|<user>|")
-- ARGV[6] header after the seq ("|<consumed ms>|<type>\n")
-- ARGV[7] frame up to the seq   ARGV[8] frame after the seq
-- Returns the entry id (the message's seq), or false when the id was
-- already fanned out (a redelivery): nothing is written or published then.
--
-- Old entries are removed with XDEL, not XADD MAXLEN: only XDEL moves the
-- stream's max-deleted-entry-id, which replay.lua uses to tell whether a
-- client's `since` is still covered by history.

if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then
  return false
end
local seq = redis.call('XADD', KEYS[1], '*', 'h', ARGV[7], 't', ARGV[8])
local excess = redis.call('XLEN', KEYS[1]) - tonumber(ARGV[2])
if excess > 0 then
  for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', excess)) do
    redis.call('XDEL', KEYS[1], entry[1])
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
if ARGV[4] ~= '' then
  redis.call('PUBLISH', ARGV[4], ARGV[5] .. seq .. ARGV[6] .. ARGV[7] .. seq .. ARGV[8])
end
return seq
