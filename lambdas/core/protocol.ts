// Re-export for local/, which still imports from here; everything else imports protocol/ directly.
export * from '../../protocol';
