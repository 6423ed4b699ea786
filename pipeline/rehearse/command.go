package rehearse

import "context"

func (s *session) runCommand(ctx context.Context) error { return nil }
