// Package transforms holds the transformers that rewrite column values on their way from
// source to target: the Transformer interface over Arrow batches, the registry that maps
// rule names to constructors, the secret key every deterministic rule is keyed with, and the
// built-in transformers, one file each.
//
// It knows nothing of where batches come from or go: the pipeline decides which column gets
// which transformer and hands over whole batches.
//
// What is stable, for programs that import it: the Transformer interface and its optional
// interfaces (NativeInput, UniqueSafe, Passthrough and the one that lists the columns a rule
// reads), Registry, Entry, Env, Column, Key, Params and YAMLParams, and TextRule with
// TextBatch for rules of one text value. So is every built-in rule's output: under the same
// key, domain and parameters a value maps to the same output in every release, so that a
// staging copy and a snapshot made before an upgrade still join with one made after; a
// change to a rule's output (such as a new word list) is a decision, named in the release
// notes. The transformtest package is the suite a rule of your own should pass. Everything
// unexported, and how a rule is implemented, may change.
package transforms
