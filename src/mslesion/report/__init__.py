"""Reports of evaluation results: Markdown/CSV tables (:mod:`.tables`), figures (:mod:`.figures`).

Submodules are imported on demand; :mod:`.figures` imports matplotlib only inside its functions.
"""
