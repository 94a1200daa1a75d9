package export

// Abandon lends the external tests a crash: the connection is closed as it stands (SQLite
// keeps what was committed), nothing is sealed or renamed, and the DB is left unusable, as a
// killed process would leave it. The real kill -9 is cmd/meterd's rotation crash test.
func Abandon(db *DB) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.conn != nil {
		db.conn.Close()
		db.conn = nil
	}
	db.closed = true
}
