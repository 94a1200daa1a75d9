// Package licensing holds the values licensing is made of: products and their tracking mode,
// validity windows, licenses and their use-count credits as the API shows them, transactions
// as processed, and the answer to a consume. They are plain data with the methods their own
// fields answer (a window in shard's nanoseconds, a license's totals); validation, decisions
// and persistence are elsewhere.
//
// It sits below core/record, which persists these values, and below core, which names them as
// its own (core.Window, core.Product, …) so that callers import core alone. It is not called
// "model" because 10Duke's license model (licenseModelId, licenseModelName: a product's
// tracking mode and credit amount) is one of the things it holds.
package licensing
