"""`berth import`: a Kamal 2 configuration, read as Kamal 2.11 reads it, turned into a Berth stack file.

source.py reads deploy.yml (and the destination file) as Kamal does, keys.py knows the keys Kamal
accepts, secrets_file.py reads `.kamal/secrets` without evaluating it, translate.py (with hosts.py,
proxy.py, env.py, accessories.py and storage.py) turns the configuration into stack keys without any
I/O, notes.py says what Berth does not take and why, writer.py writes Pulumi.<stack>.yaml, and
importer.py runs them and plans the result.
"""
