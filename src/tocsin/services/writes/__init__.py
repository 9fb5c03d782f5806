"""How writes reach the database together: the group commit that runs many requests' work in one
transaction, and the protocol of an applier that commits those batches in another process."""
