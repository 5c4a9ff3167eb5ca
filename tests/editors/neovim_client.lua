-- Drives hipaa-lsp from a real Neovim (headless) through its built-in LSP client, the way a user's
-- config would, and writes what it saw to $HIPAA_LSP_RESULT as JSON.
local result_path = os.getenv("HIPAA_LSP_RESULT")
local python = os.getenv("HIPAA_LSP_PYTHON")
local result = { steps = {} }

local function finish()
  local f = io.open(result_path, "w")
  f:write(vim.fn.json_encode(result))
  f:close()
  vim.cmd("qa!")
end

local function code_of(d)
  return d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code)
end

local function find(code)
  for _, d in ipairs(vim.diagnostic.get(0)) do
    if code_of(d) == code then return d end
  end
  return nil
end

local ok, err = pcall(function()
  local client_id = vim.lsp.start_client({
    name = "hipaa-lsp",
    cmd = { python, "-m", "hipaa_lsp", "serve" },
    root_dir = vim.fn.getcwd(),
    init_options = { debounceMs = 0 },
  })
  vim.lsp.buf_attach_client(0, client_id)

  result.diagnostic_seen = vim.wait(20000, function() return find("REDIS-NET-001") ~= nil end, 50)
  local d = find("REDIS-NET-001")
  if d then
    result.range = { d.lnum, d.col, d.end_lnum, d.end_col }
    result.message = d.message
  end

  local client = vim.lsp.get_client_by_id(client_id)
  local params = vim.lsp.util.make_position_params()
  params.position = { line = d.lnum, character = d.col + 1 }
  local hover = vim.lsp.buf_request_sync(0, "textDocument/hover", params, 10000)
  for _, r in pairs(hover or {}) do
    if r.result and r.result.contents then result.hover = r.result.contents.value end
  end

  local range = { start = { line = d.lnum, character = d.col }, ["end"] = { line = d.end_lnum, character = d.end_col } }
  local actions = vim.lsp.buf_request_sync(0, "textDocument/codeAction", {
    textDocument = vim.lsp.util.make_text_document_params(),
    range = range,
    context = { diagnostics = {}, only = { "quickfix" } },
  }, 10000)
  for _, r in pairs(actions or {}) do
    for _, action in ipairs(r.result or {}) do
      if action.title:find("REDIS%-NET%-001") then
        result.action = action.title
        vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding or "utf-16")
      end
    end
  end
  result.text_after_fix = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
  result.cleared = vim.wait(20000, function() return find("REDIS-NET-001") == nil end, 50)
end)
if not ok then result.error = tostring(err) end
finish()
