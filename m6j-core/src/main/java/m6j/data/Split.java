package m6j.data;

public enum Split { TRAIN, TEST }
