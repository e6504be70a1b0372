package storage

import (
	"fmt"

	"gorm.io/gorm"
)

// clientsV3 is the clients table's columns that migration 3 adds, frozen
// as released: a later change to clientRow must not change this step.
type clientsV3 struct {
	Resources    string `gorm:"not null;default:''"`
	Introspector bool   `gorm:"not null;default:false"`
}

func (clientsV3) TableName() string { return "clients" }

// migrateClientIntrospection adds the columns that say what a client may
// introspect. A database created by migration 1 from the current row
// models has them already.
func migrateClientIntrospection(tx *gorm.DB) error {
	m := tx.Migrator()
	for _, field := range []string{"Resources", "Introspector"} {
		if m.HasColumn(&clientsV3{}, field) {
			continue
		}
		if err := m.AddColumn(&clientsV3{}, field); err != nil {
			return fmt.Errorf("add clients.%s: %w", field, err)
		}
	}
	return nil
}
