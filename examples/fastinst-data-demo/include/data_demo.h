#define DATA_DEMO 1
