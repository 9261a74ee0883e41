// Package localdev groups the local stand-ins for AWS that development and the
// tests run against: DynamoDB Local (dynamolocal, dynamotest), a Cognito-like
// OIDC issuer (issuer), an API Gateway HTTP API (gateway) and Secrets
// Manager's GetSecretValue (secretslocal). They are real parts — the official
// DynamoDB jar, real signed JWTs verified against a fetched JWKS, real payload
// 2.0 events, SigV4-signed SDK requests — so what passes here behaves the same
// behind AWS.
package localdev
