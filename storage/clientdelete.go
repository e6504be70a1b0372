package storage

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// ReasonClientDeleted marks a family revoked because its client was deleted.
const ReasonClientDeleted = "client_deleted"

// DeleteClient removes a client and everything it holds: its token
// families are revoked (their refresh and access tokens with them), its
// own access tokens (client_credentials) deactivated and its users'
// consents forgotten, so that re-registering the ID later grants nothing
// the old client had. It reports whether the client existed.
func (s *Store) DeleteClient(ctx context.Context, id string) (bool, error) {
	found := false
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		res := tx.Where("id = ?", id).Delete(&clientRow{})
		if res.Error != nil {
			return res.Error
		}
		if found = res.RowsAffected > 0; !found {
			return nil
		}
		if _, err := s.revokeLiveFamilies(tx, ReasonClientDeleted, "client_id = ?", id); err != nil {
			return err
		}
		if err := tx.Model(&accessTokenRow{}).Where("client_id = ? AND active = ?", id, true).Update("active", false).Error; err != nil {
			return err
		}
		return tx.Where("client_id = ?", id).Delete(&consentRow{}).Error
	})
	s.clientMu.Lock()
	delete(s.clientCache, id)
	s.clientMu.Unlock()
	if err != nil {
		return false, fmt.Errorf("delete client %s: %w", id, mapErr(err))
	}
	return found, nil
}
