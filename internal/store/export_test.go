package store

import (
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// HeaderJSONBothWays is a stored header decoded by hand and by
// attributevalue, each as the client would receive it, for the demo-data
// test in package store_test (which may import the seed).
func HeaderJSONBothWays(m map[string]types.AttributeValue) (byHand, reflective string, isHeader bool, err error) {
	if _, ok := m[aMessageCount]; !ok {
		return "", "", false, nil
	}
	c, err := decodeHeader(m)
	if err != nil {
		return "", "", true, err
	}
	var it convItem
	if err := attributevalue.UnmarshalMap(m, &it); err != nil {
		return "", "", true, err
	}
	a, _ := json.Marshal(c)
	b, _ := json.Marshal(it.conversation())
	return string(a), string(b), true, nil
}
