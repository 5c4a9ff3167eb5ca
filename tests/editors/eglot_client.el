;;; Drives hipaa-lsp from a real Emacs (batch) through eglot and flymake, as a user's config would,
;;; and writes what it saw to $HIPAA_LSP_RESULT as JSON.
(require 'eglot)
(require 'json)
(setq eglot-sync-connect t
      eglot-events-buffer-size 0)
(add-to-list 'eglot-server-programs
             `(fundamental-mode . (,(getenv "HIPAA_LSP_PYTHON") "-m" "hipaa_lsp" "serve"
                                   :initializationOptions (:debounceMs 0))))
(defvar hipaa-result nil)

(defun hipaa-wait (pred seconds)
  (let ((deadline (+ (float-time) seconds)) (done nil))
    (while (and (not (setq done (funcall pred))) (< (float-time) deadline))
      (accept-process-output nil 0.05)
      (when (fboundp 'flymake-start) (ignore-errors (flymake-start))))
    done))

(defun hipaa-diag (code)
  (seq-find (lambda (d) (string-match-p (regexp-quote code) (format "%s" (flymake-diagnostic-text d))))
            (flymake-diagnostics)))

(condition-case err
    (progn
      (find-file (getenv "HIPAA_LSP_FILE"))
      (fundamental-mode)
      (eglot-ensure)
      (run-hooks 'post-command-hook)
      (hipaa-wait (lambda () (eglot-current-server)) 20)
      (push (cons 'connected (if (eglot-current-server) t :json-false)) hipaa-result)
      (let ((d (hipaa-wait (lambda () (hipaa-diag "REDIS-NET-001")) 20)))
        (push (cons 'diagnostic_seen (if d t :json-false)) hipaa-result)
        (when d
          (push (cons 'message (flymake-diagnostic-text d)) hipaa-result)
          (push (cons 'line (line-number-at-pos (flymake-diagnostic-beg d))) hipaa-result)
          (push (cons 'beg_col (save-excursion (goto-char (flymake-diagnostic-beg d)) (current-column))) hipaa-result)
          (push (cons 'end_col (save-excursion (goto-char (flymake-diagnostic-end d)) (current-column))) hipaa-result)
          (goto-char (1+ (flymake-diagnostic-beg d)))
          (let* ((server (eglot-current-server))
                 (hover (jsonrpc-request server :textDocument/hover (eglot--TextDocumentPositionParams))))
            (push (cons 'hover (plist-get (plist-get hover :contents) :value)) hipaa-result)
            (let* ((actions (jsonrpc-request
                             server :textDocument/codeAction
                             (list :textDocument (eglot--TextDocumentIdentifier)
                                   :range (list :start (eglot--pos-to-lsp-position (flymake-diagnostic-beg d))
                                                :end (eglot--pos-to-lsp-position (flymake-diagnostic-end d)))
                                   :context (list :diagnostics [] :only ["quickfix"]))))
                   (action (seq-find (lambda (a) (string-match-p "REDIS-NET-001" (plist-get a :title)))
                                     actions)))
              (when action
                (push (cons 'action (plist-get action :title)) hipaa-result)
                (eglot--apply-workspace-edit (plist-get action :edit))
                (run-hooks 'post-command-hook)
                (push (cons 'text_after_fix (buffer-substring-no-properties (point-min) (point-max))) hipaa-result)
                (push (cons 'cleared (if (hipaa-wait (lambda () (not (hipaa-diag "REDIS-NET-001"))) 20) t :json-false))
                      hipaa-result)))))))
  (error (push (cons 'error (format "%S" err)) hipaa-result)))

(with-temp-file (getenv "HIPAA_LSP_RESULT")
  (insert (json-encode hipaa-result)))
(kill-emacs 0)
