"""Flyte 2 tasks that the end-to-end tests submit to aerie with `flyte.run`.

The tests initialise the SDK with `root_dir=tests/python`, so these modules are imported as
`workflows.<module>` both here and inside the task process, and the code bundle the SDK uploads
(copy style `loaded_modules`) carries them.
"""
