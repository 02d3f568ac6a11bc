//go:build !goolm

package matrix

import "context"

// cryptoAvailable is false: this build has no end-to-end encryption (build
// with -tags goolm to get it).
const cryptoAvailable = false

// startCrypto reports that encryption is unavailable in this build.
func (a *Adapter) startCrypto(ctx context.Context) (e2ee, error) {
	return nil, errNoCrypto
}
