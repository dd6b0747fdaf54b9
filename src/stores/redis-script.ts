/**
 * The Lua script behind {@link RedisStore}'s `patch`, `touch` and `takeFlash`: one script, loaded
 * once per node, run with EVALSHA. It touches exactly one key (`KEYS[1]`), so it runs on Redis
 * Cluster, and Redis runs it atomically: nothing else reads or writes the record in between.
 *
 * It edits the stored JSON as text, member by member, and never decodes and re-encodes a value it
 * does not change: Redis' bundled cjson turns `[]` into `{}` and keeps only 14 significant digits
 * (`0.30000000000000004` comes back as `0.3`), which would corrupt data the request never touched.
 * cjson is used only to validate the record (a junk record is refused, never written) and to
 * decode member names.
 *
 * Arguments:
 * - `ARGV[1]`: `'patch'` or `'take'` (take the `flash` slot out and return it).
 * - `ARGV[2]`: TTL in milliseconds for the written record; `'keep'` keeps the key's TTL.
 * - `ARGV[3]`: JSON of the flash messages to append, by kind, or `''`.
 * - `ARGV[4]`: how many members to set (N); then N pairs of (member name as a JSON string, value
 *   as JSON); then the member names (as JSON strings) to delete.
 *
 * Returns `{ 0 }` when the key is gone (nothing written), `{ -1 }` when the stored value is not a
 * JSON object (nothing written), `{ 1, flash }` after a write (`flash` is the taken slot's JSON,
 * `''` when there was none), `{ 2 }` when a TTL of 0 or less deleted the record.
 */
export const PATCH_SCRIPT = `
local function skip_ws(s, i)
  return string.find(s, '[^ \\t\\r\\n]', i) or (#s + 1)
end

-- index of the closing quote of the JSON string that starts at i
local function string_end(s, i)
  local j = i + 1
  while true do
    local q = string.find(s, '["\\\\]', j)
    if not q then error('unterminated string') end
    if string.byte(s, q) == 92 then j = q + 2 else return q end
  end
end

-- index of the last character of the JSON value that starts at i
local function value_end(s, i)
  local c = string.byte(s, i)
  if c == 34 then return string_end(s, i) end
  if c == 123 or c == 91 then
    local depth, j = 0, i
    while true do
      local k = string.find(s, '[%[%]{}"]', j)
      if not k then error('unterminated value') end
      local b = string.byte(s, k)
      if b == 34 then
        j = string_end(s, k) + 1
      else
        if b == 123 or b == 91 then depth = depth + 1 else depth = depth - 1 end
        if depth == 0 then return k end
        j = k + 1
      end
    end
  end
  local k = string.find(s, '[,}%] \\t\\r\\n]', i)
  return (k or (#s + 1)) - 1
end

-- the members of the JSON object s, in order: { name, name as stored, value as stored }
local function members(s)
  local out = {}
  local i = skip_ws(s, 1)
  if string.byte(s, i) ~= 123 then error('not an object') end
  i = skip_ws(s, i + 1)
  if string.byte(s, i) == 125 then return out end
  while true do
    local name_end = string_end(s, i)
    local raw_name = string.sub(s, i, name_end)
    i = skip_ws(s, skip_ws(s, name_end + 1) + 1)
    local v_end = value_end(s, i)
    out[#out + 1] = { cjson.decode(raw_name), raw_name, string.sub(s, i, v_end) }
    i = skip_ws(s, v_end + 1)
    if string.byte(s, i) == 125 then return out end
    i = skip_ws(s, i + 1)
  end
end

local function is_object(raw)
  return string.byte(raw, 1) == 123
end

-- the flash slot raw with the lists of add_raw appended, kind by kind
local function append_flash(slot_raw, add_raw)
  local parts, index = {}, {}
  if slot_raw ~= nil and is_object(slot_raw) then
    for _, m in ipairs(members(slot_raw)) do
      if string.byte(m[3], 1) == 91 then
        parts[#parts + 1] = { m[2], m[3] }
        index[m[1]] = #parts
      end
    end
  end
  for _, m in ipairs(members(add_raw)) do
    local at = index[m[1]]
    if at == nil then
      parts[#parts + 1] = { m[2], m[3] }
      index[m[1]] = #parts
    elseif m[3] ~= '[]' then
      local old = parts[at][2]
      if old == '[]' then
        parts[at][2] = m[3]
      else
        parts[at][2] = string.sub(old, 1, -2) .. ',' .. string.sub(m[3], 2)
      end
    end
  end
  local out = {}
  for _, p in ipairs(parts) do out[#out + 1] = p[1] .. ':' .. p[2] end
  return '{' .. table.concat(out, ',') .. '}'
end

local current = redis.call('GET', KEYS[1])
if not current then return { 0 } end
local valid, decoded = pcall(cjson.decode, current)
if not valid or type(decoded) ~= 'table' or not is_object(string.sub(current, skip_ws(current, 1))) then
  return { -1 }
end

local mode, ttl, flash_add = ARGV[1], ARGV[2], ARGV[3]
local n = tonumber(ARGV[4])
local replaced, order = {}, {}
for i = 0, n - 1 do
  local name = cjson.decode(ARGV[5 + 2 * i])
  replaced[name] = ARGV[6 + 2 * i]
  order[#order + 1] = { ARGV[5 + 2 * i], name }
end
for i = 5 + 2 * n, #ARGV do replaced[cjson.decode(ARGV[i])] = false end

local out, taken, flash_raw = {}, '', nil
for _, m in ipairs(members(current)) do
  local name = m[1]
  if name == 'flash' and (mode == 'take' or flash_add ~= '') then
    flash_raw = m[3]
  elseif replaced[name] == nil then
    out[#out + 1] = m[2] .. ':' .. m[3]
  end
end
for _, o in ipairs(order) do out[#out + 1] = o[1] .. ':' .. replaced[o[2]] end
if mode == 'take' then
  if flash_raw == nil then return { 1, '' } end
  taken = flash_raw
elseif flash_add ~= '' then
  out[#out + 1] = '"flash":' .. append_flash(flash_raw, flash_add)
end

local value = '{' .. table.concat(out, ',') .. '}'
if ttl == 'keep' then
  redis.call('SET', KEYS[1], value, 'KEEPTTL')
elseif tonumber(ttl) <= 0 then
  redis.call('DEL', KEYS[1])
  return { 2 }
else
  redis.call('SET', KEYS[1], value, 'PX', ttl)
end
return { 1, taken }
`
