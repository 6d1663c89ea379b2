// The naive Lambda: what you get by importing the packages whole, as most examples do.
import twilio from 'twilio';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export const handler = async () => ({ twilio: typeof twilio, sm: typeof SecretsManagerClient });
