// Package transforms holds the transformers that rewrite column values on their way from
// source to target: the Transformer interface over Arrow batches, the registry that maps
// rule names to constructors, the secret key every deterministic rule is keyed with, and the
// built-in transformers, one file each.
//
// It knows nothing of where batches come from or go: the pipeline decides which column gets
// which transformer and hands over whole batches.
package transforms
