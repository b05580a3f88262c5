"""The network between clients and nodes: namespaces and partitions, Toxiproxy links."""
