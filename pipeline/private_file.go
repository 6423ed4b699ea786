package pipeline

import (
	"fmt"
	"os"
)

// WritePrivateFile writes data to path, readable and writable by the owner only (mode 0600):
// reports hold table and column names, row counts and shapes of a production database. A
// file that exists already is emptied and set to 0600 before any byte is written, so the data
// never sits in a file others can read; if its mode cannot be changed, nothing is written.
func WritePrivateFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("make %s private: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
